"""Shared test helpers: where the development data lives, and a skip marker when it is absent."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceatlas.config import get_settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ASTRONAUT = Path(__import__("skimage").data.__file__).parent / "astronaut.png"


def data_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test with a clear reason when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"development data not available: {path} (see README, 'Development data')")
    return path


def write_video(path: Path, frames: int, fps: float = 10.0, codec: str = "mp4v") -> Path:
    """Frame i is a flat grey of level 6 i (readable back through compression)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 6 * i, np.uint8))
    writer.release()
    return path


@dataclass
class Completed:
    """What a run of the `faceatlas` command gave: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Completed:
    """The `faceatlas` command run in this process by Typer's runner: the same app, options, output and exit codes
    as the installed command, without a new interpreter and new model sessions each time (a few true subprocess
    tests keep the installed entry point honest). Settings are read afresh for the run; an exception that is not an
    exit fails the test with its traceback."""
    from click.testing import CliRunner
    from typer.main import get_command

    from faceatlas.cli import app

    command = get_command(app)  # before the settings are cleared: building it reads them for `--help`
    previous = Path.cwd()
    get_settings.cache_clear()
    try:
        if cwd is not None:
            os.chdir(cwd)
        result = CliRunner().invoke(command, list(args), env={"COLUMNS": "200", **(env or {})})
    finally:
        os.chdir(previous)
        get_settings.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Completed(result.exit_code, result.stdout, result.stderr)
