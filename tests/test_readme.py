"""The README's commands as written: every `faceatlas ...` it shows names a real command and only options that command
takes, and the ones that need nothing but this repository run."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from helpers import ASTRONAUT, cli

from faceatlas.cli.main import app

README = Path(__file__).resolve().parents[1] / "README.md"
COMMAND = re.compile(r"(?<![\w.])faceatlas ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)([^`\n#]*)")


def shown_commands() -> list[tuple[list[str], list[str], str]]:
    """(command path, options, the line) of every `faceatlas` command line in the README (usage lines included)."""
    root = typer.main.get_command(app)
    found = []
    for match in COMMAND.finditer(README.read_text()):
        words, rest = match.group(1).split(), match.group(2).split("&&")[0]  # up to the next command
        if words[0] not in root.commands:  # prose or Python ("from faceatlas import ...")
            continue
        command = root.commands[words[0]]
        path = [words[0]]
        if hasattr(command, "commands") and len(words) > 1:
            path.append(words[1])
        elif len(words) > 1:
            rest = f"{words[1]} {rest}"
        found.append((path, re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest), match.group(0)))
    return found


def test_every_command_and_option_the_readme_shows_exists():
    root = typer.main.get_command(app)
    checked = shown_commands()
    assert len(checked) >= 40
    for path, options, line in checked:
        command = root
        for name in path:
            assert name in getattr(command, "commands", {}), f"no command {' '.join(path)}: {line}"
            command = command.commands[name]
        if hasattr(command, "commands"):
            continue  # "faceatlas eval" in prose
        known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]} | {"--help"}
        unknown = [option for option in options if option not in known]
        assert not unknown, f"{' '.join(path)} takes no {unknown}: {line}"


def test_the_readme_commands_that_need_only_this_repository_run(tmp_path: Path):
    results = sorted(str(p) for p in (README.parent / "docs" / "results").glob("*.json"))
    report = cli("eval", "report", *results, "-o", str(tmp_path / "report.html"))  # benchmarks' JSON among them
    assert report.returncode == 0 and (tmp_path / "report.html").stat().st_size > 10_000, report.stderr
    assert cli("config").returncode == 0 and cli("models", "list").returncode == 0
    analysed = cli("analyze", str(ASTRONAUT), "--embed", "--draw", str(tmp_path / "out"))
    assert analysed.returncode == 0 and len(list((tmp_path / "out").glob("*.jpg"))) == 1
