"""`faceatlas gallery ...`: enrol people, identify and verify faces against them, erase them, back them up."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.table import Table

from faceatlas.cli.common import ProfileOption, ThreadsOption, console, fail, output, setting_default, styled
from faceatlas.errors import FaceAtlasError

if TYPE_CHECKING:
    from faceatlas.gallery import Gallery
    from faceatlas.gallery.results import Identification

gallery_app = typer.Typer(help="People enrolled for 1:N identification: enrol, identify, verify, erase, back up.",
                          no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", help="SQLAlchemy URL or SQLite file path (unset: SQLite under FACEATLAS_HOME/gallery).",
    show_default=setting_default("gallery_url"))]
CollectionOption = Annotated[str | None, typer.Option(help="Collection (an isolated set of people).",
                                                      show_default=setting_default("collection"))]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
T = TypeVar("T")


class SubjectChoice(StrEnum):
    """The `SubjectRule`s a photo's face is picked by."""

    alone = "alone"
    largest = "largest"
    centre = "centre"


def open_gallery(db: str | None, collection: str | None, profile: str | None = None, threads: int | None = None,
          min_quality: float | None = None, keep_thumbnails: bool = False, create: bool = False) -> Gallery:
    """The gallery; its vector index is chosen by FACEATLAS_GALLERY_INDEX and FACEATLAS_MILVUS_URI. Only commands
    that add people make a database or collection (`create`): the others refuse a missing one, which is a typo."""
    from faceatlas.gallery import Gallery
    from faceatlas.pipeline import FaceAnalyzer

    return guarded(lambda: Gallery(db, collection, FaceAnalyzer(profile=profile, threads=threads),
                                  min_quality=min_quality, keep_thumbnails=keep_thumbnails, create=create))


def guarded(job: Callable[[], T]) -> T:
    """`job()`, or a clear error and its exit code (a database that refuses: the driver's words, not a traceback)."""
    from sqlalchemy.exc import SQLAlchemyError  # loaded by the gallery anyway

    from faceatlas.gallery.store import store_error

    try:
        return job()
    except (FaceAtlasError, ValueError, OSError) as error:
        raise fail(error) from None
    except SQLAlchemyError as error:
        raise fail(store_error(error)) from None


def _box(text: str) -> list[float]:
    """x1,y1,x2,y2 as four numbers (a usage error otherwise)."""
    try:
        box = [float(v) for v in text.split(",")]
    except ValueError:
        box = []
    if len(box) != 4:
        raise fail(ValueError(f"--box is four numbers x1,y1,x2,y2, not {text!r}"))
    return box


def _print(data: object, as_json: bool) -> bool:
    if as_json:
        output.print_json(json.dumps(data))
    return as_json


@gallery_app.command("create")
def create(db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None) -> None:
    """Create a collection (pinned to the profile's embedding model); opening one that exists is harmless."""
    gallery = open_gallery(db, collection, profile, create=True)
    console.print(f"collection '{gallery.collection_name}' ({gallery.model_id}): {len(gallery)} people")


@gallery_app.command("enroll")
def enroll(
    name: Annotated[str, typer.Argument(help="The person's name (created if new).")],
    images: Annotated[list[Path], typer.Argument(help="Photos of this person alone (files or folders).")],
    meta: Annotated[str | None, typer.Option(help="JSON object of metadata to store with the person.")] = None,
    min_quality: Annotated[float | None, typer.Option(help="Refuse faces whose quality score (0-1) is lower.",
                                                      show_default=setting_default("min_quality"))] = None,
    allow_identity_clash: Annotated[bool, typer.Option(help="Enrol even if a face matches another person.")] = False,
    subject: Annotated[SubjectChoice, typer.Option(help="Which face of each photo: 'alone' (the one face, or the one "
                                                        "plainly the subject; refuses a photo where another face could "
                                                        "be), 'largest' or 'centre'.")] = SubjectChoice.alone,
    box: Annotated[str | None, typer.Option(help="The face at this box, x1,y1,x2,y2 in pixels (one photo only).")]
    = None,
    keep_thumbnails: Annotated[bool, typer.Option(help="Keep a small JPEG of each face (for review and for "
                                                       "migrating to another model without the photos).")] = False,
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
    threads: ThreadsOption = None, as_json: JsonFlag = False,
) -> None:
    """Add faces of one person; each refused photo is listed with its reason. Exit 0: at least one face enrolled;
    1: none (every photo refused)."""
    from faceatlas.io.image import iter_image_paths

    try:
        extra = json.loads(meta) if meta else None
    except json.JSONDecodeError as error:
        raise fail(ValueError(f"--meta is not valid JSON: {error}")) from None
    files = iter_image_paths(images)
    if not files:
        raise fail(ValueError("no image files found in the given paths"))
    boxes = [_box(box)] if box else None
    if boxes and len(files) != 1:
        raise fail(ValueError(f"--box names the face of one photo, not of {len(files)}"))
    gallery = open_gallery(db, collection, profile, threads, min_quality=min_quality, keep_thumbnails=keep_thumbnails,
                    create=True)
    report = guarded(lambda: gallery.enroll(name, files, meta=extra, allow_identity_clash=allow_identity_clash,
                                           boxes=boxes, subject=subject.value))
    if not _print(report.to_dict(), as_json):
        console.print(f"{name}: {len(report.added)} face(s) enrolled, {len(report.rejected)} refused")
        for rejected in report.rejected:
            console.print(styled("  refused", "yellow", f" {rejected.source}: {rejected.reason}"))
    if not report.added:
        raise typer.Exit(1)


@gallery_app.command("identify")
def identify(
    image: Annotated[Path, typer.Argument(help="A photo; every face in it is identified.")],
    fpir: Annotated[float | None, typer.Option(help="Target rate of strangers taken for someone (default 1e-2).")]
    = None,
    fmr: Annotated[float | None, typer.Option(help="Decide per comparison at this false-match rate instead.")] = None,
    top_k: Annotated[int, typer.Option(min=1, help="Candidates listed per face.")] = 5,
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
    threads: ThreadsOption = None, as_json: JsonFlag = False,
) -> None:
    """Who is in the photo: per face the best candidates and a decision, or "unknown". Exit 0: at least one face
    identified as an enrolled person; 1: none (every face unknown, or no face)."""
    gallery = open_gallery(db, collection, profile, threads)
    results = guarded(lambda: gallery.identify(image, fmr=fmr, fpir=fpir, top_k=top_k))
    if not _print([r.to_dict() for r in results], as_json):
        _print_identifications(results)
    if not any(result.decision for result in results):
        raise typer.Exit(1)


def _print_identifications(results: list[Identification]) -> None:
    table = Table("face", "decision", "best candidates (similarity)", "threshold", "FMR per comparison")
    for i, result in enumerate(results):
        candidates = ", ".join(f"{c.name} ({c.score:.3f})" for c in result.candidates) or "-"
        table.add_row(str(i), result.decision or "unknown", candidates, f"{result.threshold:.4f}", f"{result.fmr:.1e}")
    output.print(table)
    console.print(f"{len(results)} face(s)")


@gallery_app.command("verify")
def verify(
    image: Annotated[Path, typer.Argument(help="A photo; its largest face is compared.")],
    name: Annotated[str, typer.Argument(help="An enrolled person.")],
    fmr: Annotated[float, typer.Option(help="Target false-match rate of the decision.")] = 1e-4,
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Is this photo that person, at a calibrated false-match rate. Exit 0: the same person; 1: not."""
    gallery = open_gallery(db, collection, profile)
    result = guarded(lambda: gallery.verify(image, name, fmr=fmr))
    if not _print(result.to_dict(), as_json):
        verdict = "same person" if result.same else "not the same person"
        output.print(f"{verdict}: similarity {result.score:.4f}, threshold {result.threshold:.4f} at FMR "
                     f"{fmr:g} ({result.samples} enrolled sample(s))")
    if not result.same:
        raise typer.Exit(1)


@gallery_app.command("list")
def list_people(db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
                as_json: JsonFlag = False) -> None:
    """Everyone enrolled, with their number of samples."""
    people = open_gallery(db, collection, profile).people()
    if not _print([person.to_dict() for person in people], as_json):
        table = Table("name", "samples", "metadata")
        for person in people:
            table.add_row(person.name, str(person.samples), json.dumps(person.meta) if person.meta else "")
        output.print(table)


@gallery_app.command("show")
def show(name: str, db: DbOption = None, collection: CollectionOption = None,
         profile: ProfileOption = None) -> None:
    """One person's record and samples (never their embeddings), as JSON."""
    gallery = open_gallery(db, collection, profile)
    output.print_json(json.dumps(guarded(lambda: gallery.show(name)).to_dict()))


@gallery_app.command("rename")
def rename(old: str, new: str, db: DbOption = None, collection: CollectionOption = None,
           profile: ProfileOption = None) -> None:
    """Rename a person."""
    gallery = open_gallery(db, collection, profile)
    guarded(lambda: gallery.rename(old, new))
    console.print(f"renamed '{old}' to '{new}'")


@gallery_app.command("merge")
def merge(source: str, target: str, db: DbOption = None, collection: CollectionOption = None,
          profile: ProfileOption = None) -> None:
    """Move every sample of SOURCE to TARGET and delete SOURCE (two records of one person)."""
    gallery = open_gallery(db, collection, profile)
    moved = guarded(lambda: gallery.merge(source, target))
    console.print(f"moved {moved} sample(s) from '{source}' to '{target}'")


@gallery_app.command("erase")
def erase(name: str, db: DbOption = None, collection: CollectionOption = None,
          profile: ProfileOption = None, as_json: JsonFlag = False) -> None:
    """Remove a person completely: samples, index entries, their name in the audit log; files compacted."""
    gallery = open_gallery(db, collection, profile)
    report = guarded(lambda: gallery.erase(name))
    if not _print(report.to_dict(), as_json):
        console.print(f"erased '{name}': {report.samples} sample(s) and their index entries; {report.proof}")
        for path in report.exports_holding:
            console.print(styled("  still holding them", "yellow", f" {path} (an export made before: yours to "
                                                                      "delete)"))


@gallery_app.command("export")
def export(path: Path, db: DbOption = None, collection: CollectionOption = None,
           profile: ProfileOption = None) -> None:
    """Write the collection to PATH.json and PATH.npz (people, metadata, samples, embeddings)."""
    from faceatlas.gallery.transfer import export_collection

    gallery = open_gallery(db, collection, profile)
    report = guarded(lambda: export_collection(gallery, path))
    console.print(f"exported {report.people} people, {report.samples} samples to {report.json}")


@gallery_app.command("import")
def import_(path: Path, db: DbOption = None, collection: CollectionOption = None,
            profile: ProfileOption = None) -> None:
    """Add the people and samples of an export (PATH.json + PATH.npz) to the collection."""
    from faceatlas.gallery.transfer import import_collection

    gallery = open_gallery(db, collection, profile, create=True)
    report = guarded(lambda: import_collection(gallery, path))
    console.print(f"imported {report.people} people, {report.samples} samples")


@gallery_app.command("migrate")
def migrate(
    to_collection: Annotated[str, typer.Option(help="Collection to re-embed into.")],
    to_profile: Annotated[str, typer.Option(help="Profile whose recogniser the new collection uses.")],
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
    threads: ThreadsOption = None, as_json: JsonFlag = False,
) -> None:
    """Re-embed a collection with another model, from the photos its samples came from."""
    source = open_gallery(db, collection, profile, threads)
    target = open_gallery(db, to_collection, to_profile, threads, min_quality=source.min_quality, create=True)
    report = guarded(lambda: source.migrate(target))
    if not _print(report.to_dict(), as_json):
        console.print(f"{report.samples_migrated} sample(s) of {report.people} people re-embedded into "
                      f"'{to_collection}'; {len(report.sources_missing)} source photo(s) missing, "
                      f"{len(report.refused)} refused")


@gallery_app.command("rebuild-index")
def rebuild_index(db: DbOption = None, collection: CollectionOption = None,
                  profile: ProfileOption = None) -> None:
    """Recreate the vector index from the database."""
    size = guarded(lambda: open_gallery(db, collection, profile).rebuild_index())
    console.print(f"index rebuilt: {size} entries")


@gallery_app.command("check")
def check(db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
          as_json: JsonFlag = False) -> None:
    """Prove the index agrees with the database (exit code 1 if not)."""
    report = guarded(lambda: open_gallery(db, collection, profile).check())
    if not _print(report.to_dict(), as_json):
        verdict = "ok" if report.ok else "MISMATCH"
        console.print(f"{report.samples} samples, {report.index_entries} index entries, checked samples "
                      f"finding themselves: {report.self_recall_at_10:.3f} -> {verdict}")
    if not report.ok:
        raise typer.Exit(1)
