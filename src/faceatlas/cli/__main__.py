from faceatlas.cli.main import app

app()
