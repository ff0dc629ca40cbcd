"""`faceatlas library`: index a photo library's faces (clustering and labelling commands build on this)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from faceatlas.cli.common import ProfileOption, console, fail, output, progress_bar
from faceatlas.cli.gallery import CollectionOption, DbOption, JsonFlag
from faceatlas.errors import FaceAtlasError

library_app = typer.Typer(help="A photo library: index the faces in folders of photos.", no_args_is_help=True)


@library_app.command("index")
def index(
    folders: Annotated[list[Path], typer.Argument(help="Folders of photos (searched recursively).")],
    workers: Annotated[int, typer.Option(min=0, help="Analysing processes (0: one per core).")] = 0,
    db: DbOption = None, collection: CollectionOption = "default", profile: ProfileOption = "default",
    as_json: JsonFlag = False,
) -> None:
    """Analyse the photos that are new or changed since the last run; renamed or moved photos are not analysed
    again, unreadable ones are listed. Safe to interrupt: the next run resumes."""
    from faceatlas.organize import Library

    try:
        library = Library(db, collection, profile, workers or None)
        with progress_bar() as bar:
            task = bar.add_task("analysing", total=None)
            report = library.index(folders, progress=lambda done, total: bar.update(task, completed=done,
                                                                                  total=total))
    except (FaceAtlasError, ValueError, OSError) as error:
        raise fail(error) from None
    if as_json:
        output.print_json(json.dumps(report.__dict__))
        return
    console.print(f"{report.seen} photos: {report.analysed} analysed ({report.faces} faces), {report.unchanged} "
                  f"unchanged, {report.known_content} moved or copied, {len(report.failed)} unreadable, "
                  f"{report.removed_paths} gone; {report.seconds} s")
    for failed in report.failed:
        console.print(f"  [yellow]skipped[/yellow] {failed['path']}: {failed['error']}")
