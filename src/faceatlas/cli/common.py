"""What every `faceatlas` command shares: the consoles, progress bars, option types and error exits."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from faceatlas.errors import FaceAtlasError
from faceatlas.profiles import PROFILES

# no Rich markup: names, paths and error messages print as they are ("Trip [paris]" is a folder, not a style)
console = Console(stderr=True, markup=False)
output = Console(width=None if sys.stdout.isatty() else 200, markup=False)  # wide tables when piped, not cut at 80

ProfileOption = Annotated[str, typer.Option(help=f"Analysis profile: {', '.join(PROFILES)}.")]
ThreadsOption = Annotated[int, typer.Option(help="ONNX Runtime threads (0: let it choose).", min=0)]
MaxPixelsOption = Annotated[int | None, typer.Option(min=1, help="Refuse images with more pixels than this (default: "
                                                              "FACEATLAS_MAX_PIXELS, else 100 million).")]


def fail(error: Exception) -> typer.Exit:
    """Print the error and return the exit to raise: a FaceAtlasError's own exit code, 2 for any other error."""
    console.print(styled("error:", "red", f" {error}"))
    return typer.Exit(error.exit_code if isinstance(error, FaceAtlasError) else 2)


def styled(label: str, style: str, rest: str = "") -> Text:
    """`label` in `style`, then `rest` as it is."""
    return Text.assemble((label, style), rest)


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


def progress_callback(progress: Progress, description: str) -> Callable[[int], Callable[[], None]]:
    """A callback for `faceatlas.eval.harness`: given a total, add a task and return its advance function."""

    def start(total: int) -> Callable[[], None]:
        task = progress.add_task(description, total=total)
        return lambda: progress.advance(task)

    return start
