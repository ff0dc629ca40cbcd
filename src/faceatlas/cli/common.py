"""What every `faceatlas` command shares: the consoles, progress bars, option types and error exits.

Options that have a setting (`faceatlas.config`) default to None, meaning "the setting": `--help` shows the effective
value and where it came from, and the commands pass None on so the library reads the same setting.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
import typer.rich_utils
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from faceatlas.config import env_name, get_settings
from faceatlas.errors import USAGE_EXIT_CODE, FaceAtlasError
from faceatlas.profiles import PROFILES

# no Rich markup: names, paths and error messages print as they are ("Trip [paris]" is a folder, not a style)
console = Console(stderr=True, markup=False, width=None if sys.stderr.isatty() else 200)  # paths unbroken in logs
output = Console(width=None if sys.stdout.isatty() else 200, markup=False)  # wide tables when piped, not cut at 80
if not sys.stdout.isatty():  # `--help` piped or captured: 120 columns (Rich's 80 wrapped every option's help)
    typer.rich_utils.MAX_WIDTH = typer.rich_utils.MAX_WIDTH or 120


def setting_default(name: str) -> str:
    """How `--help` shows an option's default: the setting's effective value and where it came from (an invalid
    environment variable is reported when a command runs, not here)."""
    try:
        settings = get_settings()
    except ValueError:
        return f"setting {env_name(name)}"
    value = getattr(settings, name)
    origin = "from " + env_name(name) if settings.origin(name) != "default" else "setting " + env_name(name)
    return f"{value if value is not None else '-'}, {origin}"


ProfileOption = Annotated[str | None, typer.Option(help=f"Analysis profile: {', '.join(PROFILES)}.",
                                                   show_default=setting_default("profile"))]
CalibrateOption = Annotated[Path | None, typer.Option(
    "--calibrate", help="Identity-labelled photos (per-person folders or a path,identity CSV) to calibrate the new "
                        "recogniser on: thresholds at FMR 1e-2 … the smallest the pairs support.")]
ThreadsOption = Annotated[int | None, typer.Option(help="ONNX Runtime threads (0: let it choose).", min=0,
                                                   show_default=setting_default("threads"))]
MaxPixelsOption = Annotated[int | None, typer.Option(min=1, help="Refuse images with more pixels than this.",
                                                     show_default=setting_default("max_pixels"))]


def fail(error: Exception) -> typer.Exit:
    """Print the error and return the exit to raise: a FaceAtlasError's own exit code, 2 for any other error."""
    console.print(styled("error:", "red", f" {error}"))
    return typer.Exit(error.exit_code if isinstance(error, FaceAtlasError) else USAGE_EXIT_CODE)


def exit_if_all_failed(failed: int, total: int, codes: set[int]) -> None:
    """A batch where every file failed exits with their error's code (1 when they failed differently); one file that
    worked makes it a success (the failures were reported on the way)."""
    if failed == total:
        raise typer.Exit(next(iter(codes)) if len(codes) == 1 else 1)


def styled(label: str, style: str, rest: str = "") -> Text:
    """`label` in `style`, then `rest` as it is."""
    return Text.assemble((label, style), rest)


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


def progress_callback(progress: Progress, description: str) -> Callable[[int], Callable[[], None]]:
    """A callback for `faceatlas.eval`'s runs: given a total, add a task and return its advance function."""

    def start(total: int) -> Callable[[], None]:
        task = progress.add_task(description, total=total)
        return lambda: progress.advance(task)

    return start
