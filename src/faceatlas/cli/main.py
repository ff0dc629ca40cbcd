"""The `faceatlas` app: analyze, verify and the model registry; `anonymize` lives in `cli/anonymize.py`, `eval` in
`cli/evaluate.py`, `gallery` in `cli/gallery.py`, `library` in `cli/library.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from faceatlas.cli import evaluate, evaluate_faces  # noqa: F401  (their commands join `eval_app`)
from faceatlas.cli.analyze import analyze
from faceatlas.cli.anonymize import anonymize
from faceatlas.cli.common import (
    ProfileOption,
    ThreadsOption,
    console,
    fail,
    output,
    styled,
)
from faceatlas.cli.eval_common import eval_app
from faceatlas.cli.gallery import gallery_app
from faceatlas.cli.library import library_app
from faceatlas.cli.models import models_app
from faceatlas.cli.serve import serve_app
from faceatlas.cli.video import video
from faceatlas.config import Settings, env_name, get_settings
from faceatlas.errors import USAGE_EXIT_CODE, FaceAtlasError
from faceatlas.pipeline import FaceAnalyzer

if TYPE_CHECKING:
    from faceatlas.types import Verification

app = typer.Typer(help="FaceAtlas: offline face detection, recognition and calibrated verification.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def settings_first() -> None:
    """Offline face detection, recognition and calibrated verification."""
    try:
        get_settings()
    except ValueError as error:  # pydantic's ValidationError: a FACEATLAS_* variable that is not a valid value
        console.print(styled("error:", "red", f" invalid setting in the environment: {error}"))
        raise typer.Exit(USAGE_EXIT_CODE) from None
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")
app.add_typer(gallery_app, name="gallery")
app.add_typer(library_app, name="library")


app.command()(analyze)
app.command()(anonymize)
app.command()(video)
app.add_typer(serve_app, name="serve")


@app.command("config")
def config(as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """The effective settings: each value, where it came from (its FACEATLAS_* variable or the default) and what
    it does."""
    settings = get_settings()
    rows = [{"name": name, "value": getattr(settings, name), "source": settings.origin(name), "variable":
             env_name(name), "description": field.description} for name, field in Settings.model_fields.items()]
    if as_json:
        output.print_json(json.dumps(rows, default=str))
        return
    table = Table("setting", "value", "from", "description")
    for row in rows:
        table.add_row(row["variable"], str(row["value"]), row["source"], row["description"] or "")
    output.print(table)


@app.command()
def verify(
    a: Annotated[Path, typer.Argument(help="First image (its largest face is used).")],
    b: Annotated[Path, typer.Argument(help="Second image (its largest face is used).")],
    fmr: Annotated[float, typer.Option(help="Target false-match rate of the decision.")] = 1e-4,
    min_quality: Annotated[float | None, typer.Option(help="Answer 'insufficient quality' when either face's "
                                                            "quality score (0-1) is below this.")] = None,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Decide whether two photos show the same person, at a calibrated false-match rate. Exit 0: the same person;
    1: different people, or a face below --min-quality (no decision)."""
    try:
        result = FaceAnalyzer(profile=profile, threads=threads).verify(a, b, fmr=fmr, min_quality=min_quality)
    except FaceAtlasError as error:
        raise fail(error) from None
    if as_json:
        print(json.dumps(result.to_dict()))
    else:
        _print_verification(result, fmr)
    if not result.same:
        raise typer.Exit(1)


def _print_verification(result: Verification, fmr: float) -> None:
    verdict = {"same": styled("same person", "green"), "different": styled("different people", "yellow"),
               "insufficient_quality": styled("insufficient quality", "red")}[result.decision]
    quality = (f", quality {result.quality[0]:.4f} / {result.quality[1]:.4f} (gate {result.min_quality:g}, "
               f"--min-quality)" if result.quality else "")
    output.print(Text.assemble(verdict, f": score {result.score:.4f}, threshold {result.threshold:.4f} at FMR "
                                        f"{fmr:g} ({result.model}){quality}"))
