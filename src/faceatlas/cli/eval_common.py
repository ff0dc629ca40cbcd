"""What the `faceatlas eval` commands share: the Typer group, its options, running a harness job under a progress
bar, and writing the result. The commands are in `evaluate` (recognition, budgets, reports) and `evaluate_faces`
(detection, attributes, landmarks, pose)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.progress import Progress

from faceatlas.cli.common import (
    console,
    fail,
    progress_bar,
    styled,
)
from faceatlas.errors import FaceAtlasError
from faceatlas.pipeline import FaceAnalyzer

T = TypeVar("T")
eval_app = typer.Typer(help="Measure: verification, identification, detection, calibration, time budgets, fairness "
                            "and an HTML report.", no_args_is_help=True)

OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the JSON result "
                                                   "(default: faceatlas-eval-KIND.json).")]
PlotOption = Annotated[Path | None, typer.Option(help="Also write PNG figures into this folder.")]
CacheOption = Annotated[Path | None, typer.Option(help="Reuse and store per-image embeddings in this folder.")]
AnnotatedImagesOption = Annotated[Path | None, typer.Option(help="Folder the image paths are relative to (default: "
                                                                 "the annotation file's folder).")]


def command_line() -> str:
    return "faceatlas " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])


def analyzer_for(profile: str, threads: int, recogniser: str | None = None) -> FaceAnalyzer:
    try:
        return FaceAnalyzer(profile=profile, threads=threads, recogniser=recogniser)
    except (FaceAtlasError, ValueError) as error:
        raise fail(error) from None


def finish(result: dict, out: Path | None, plot: Path | None) -> None:
    from faceatlas.eval.results import write_result

    target = out or Path(f"faceatlas-eval-{result['kind']}.json")
    write_result(result, target)
    console.print(f"wrote {target}")
    if plot:
        from faceatlas.eval.plots import write_plots

        for path in write_plots(result, plot, target.stem):
            console.print(f"wrote {path}")


def run(job: Callable[[Progress], T]) -> T:
    """Run a harness job under a progress bar, turning data and model errors into clear exits."""
    try:
        with progress_bar() as progress:
            return job(progress)
    except (FaceAtlasError, ValueError, FileNotFoundError) as error:
        raise fail(error) from None


def failures_line(data: dict) -> None:
    if data.get("images_without_face"):
        console.print(styled(f"{data['images_without_face']} of {data['images']} images without a face", "yellow",
                             " (listed under data.failures in the JSON)"))


def rate(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def ratio(value: float | None) -> str:
    return rate(value, ".2f")
