"""The `faceatlas` command line: one command per user job, the same settings as the Python API."""

from faceatlas.cli.main import app

__all__ = ["app"]
