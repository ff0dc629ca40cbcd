"""`faceatlas library`: index a photo library's faces, list the people found, name them, review the uncertain ones
and find the photos of a person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from faceatlas.cli.common import (
    MaxPixelsOption,
    ProfileOption,
    console,
    fail,
    output,
    progress_bar,
    setting_default,
    styled,
)
from faceatlas.cli.gallery import CollectionOption, DbOption, JsonFlag, _print, guarded
from faceatlas.errors import FaceAtlasError

if TYPE_CHECKING:
    from faceatlas.organize import IndexReport, Library, ReviewItem
    from faceatlas.organize.results import Answer

PREVIEW_COLUMNS = 32
"""Width of a face preview in character cells (and pixels)."""

library_app = typer.Typer(help="A photo library: index the faces in folders of photos, group them into people, name "
                               "them, find their photos.", no_args_is_help=True)
ClusterArgument = Annotated[int, typer.Argument(help="A cluster number from `faceatlas library people`.")]


def _open(db: str | None, collection: str | None, profile: str | None) -> Library:
    """An indexed library (a missing gallery database is an error, not a new empty one)."""
    from faceatlas.organize import Library

    return guarded(lambda: Library(db, collection, profile, create=False))


@library_app.command("index")
def index(
    folders: Annotated[list[Path], typer.Argument(help="Folders of photos (searched recursively).")],
    workers: Annotated[int | None, typer.Option(min=0, help="Analysing processes (0: one per core).",
                                                show_default=setting_default("workers"))] = None,
    videos: Annotated[bool, typer.Option("--videos", help="Also index videos: one face per person followed "
                                                          "through each.")] = False,
    frame_every: Annotated[float | None, typer.Option(min=0.01, help="Seconds between the video frames followed, "
                                                                     "at most 0.2 (for videos not indexed yet).",
                                                      show_default=setting_default("frame_every"))] = None,
    keep_thumbnails: Annotated[bool, typer.Option(help="Keep a small JPEG of each face (review and migration work "
                                                       "without the photo; faces indexed before get theirs too).")]
    = False,
    max_pixels: MaxPixelsOption = None,
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Analyse the photos (and with --videos, videos) that are new or changed since the last run; renamed or moved
    files are not analysed again, unreadable ones are listed. Safe to interrupt: the next run resumes."""
    from faceatlas.organize import Library

    if frame_every and not videos:
        raise fail(ValueError("--frame-every applies to videos: add --videos"))

    def run() -> IndexReport:
        library = Library(db, collection, profile, workers)
        with progress_bar() as bar:
            task = bar.add_task("indexing", total=None)
            return library.index(folders, progress=lambda done, total: bar.update(task, completed=done, total=total),
                                 videos=videos, frame_every=frame_every, keep_thumbnails=keep_thumbnails,
                                 max_pixels=max_pixels)

    report = guarded(run)
    if as_json:
        output.print_json(json.dumps(report.to_dict()))
        return
    kind = "photos and videos" if videos else "photos"
    failed_now = len(report.failed) - report.failed_before
    before = f" (and {report.failed_before} unchanged since found unreadable)" if report.failed_before else ""
    console.print(f"{report.seen} {kind}: {report.analysed} analysed ({report.faces} faces), {report.copies} "
                  f"copies of those, {report.unchanged} unchanged, {report.known_content} already known (moved, "
                  f"copied or by another run), {failed_now} unreadable{before}; {report.removed_paths} "
                  f"gone; {report.seconds} s")
    clusters = report.clusters
    if clusters.clustered > clusters.unclustered:  # faces placed (new ones, or ones that waited for a cluster)
        console.print(f"{clusters.clustered} faces to cluster: {clusters.joined_named} joined a named person, "
                      f"{clusters.new_clusters} new clusters, {clusters.unclustered} too poor to start one")
    elif clusters.unclustered:
        console.print(f"{clusters.unclustered} faces too poor to start a cluster wait for one like them")
    for failed in report.failed:
        console.print(styled("  skipped", "yellow", f" {failed.path}: {failed.error}"))
    if report.thumbnails_added:
        console.print(f"{report.thumbnails_added} faces indexed earlier given their thumbnails")
    for incomplete in report.incomplete:
        console.print(styled("  incomplete", "yellow", f" {incomplete.path}: {incomplete.warning}"))


@library_app.command("people")
def people(
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many (0: all).")] = 50,
    unnamed: Annotated[bool, typer.Option("--unnamed", help="Only the clusters nobody has named yet.")] = False,
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Named people, then unnamed clusters, biggest first, each with its best face (photo and box)."""
    shown = guarded(lambda: _open(db, collection, profile).people(limit or None, False if unnamed else None))
    if _print([person.to_dict() for person in shown], as_json):
        return
    table = Table("cluster", "name", "faces", "photos", "sample face")
    for person in shown:
        table.add_row(str(person.cluster), person.name or Text("unnamed", "dim"), str(person.faces),
                      str(person.photos), _where(person.sample_path, person.sample_box, person.sample_frame_ms))
    output.print(table)
    if limit and len(shown) == limit:
        console.print("there may be more: --limit 0 shows all")


@library_app.command("name")
def name(
    cluster: ClusterArgument,
    person: Annotated[str, typer.Argument(help="Who it is (an existing name joins the two).")],
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
) -> None:
    """Name a cluster: it becomes a gallery person, and new photos of them are labelled automatically."""
    result = guarded(lambda: _open(db, collection, profile).name(cluster, person))
    console.print(f"cluster {result.cluster} is {result.name}: {result.faces} faces "
                  f"({result.samples_added} added to the gallery)")


@library_app.command("forget")
def forget(
    cluster: Annotated[int, typer.Argument(help="An unnamed cluster from `faceatlas library people`.")],
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
) -> None:
    """Erase an unnamed cluster's faces from the database (the photos stay and are not analysed again); a named
    one goes with its person (`faceatlas gallery erase NAME`)."""
    result = guarded(lambda: _open(db, collection, profile).forget(cluster))
    console.print(f"cluster {result.cluster}: {result.faces_erased} faces erased")


@library_app.command("merge")
def merge(
    first: ClusterArgument,
    second: Annotated[int, typer.Argument(help="Another cluster of the same person.")],
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
) -> None:
    """The two clusters are one person: they join under the older number (a named one names the other)."""
    result = guarded(lambda: _open(db, collection, profile).merge(first, second))
    who = f" ({result.name})" if result.name else ""
    console.print(f"cluster {result.cluster}{who}: {result.faces} faces")


@library_app.command("unlabel")
def unlabel(
    photo: Annotated[Path, typer.Argument(help="A photo (or video) that `faceatlas library photos --person NAME` "
                                               "lists.")],
    person: Annotated[str, typer.Argument(help="The person who is not in it.")],
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
) -> None:
    """PERSON is not in PHOTO: the face labelled as them there leaves them for a cluster of its own, which never
    joins them again, and stops being one of their gallery samples."""
    result = guarded(lambda: _open(db, collection, profile).unlabel(photo, person))
    console.print(f"{result.path}: {result.faces} face(s) no longer {result.name}, now cluster "
                  f"{result.cluster} ({result.samples_removed} gallery samples removed)")


@library_app.command("review")
def review(
    limit: Annotated[int, typer.Option(min=0, help="Ask at most this many (0: all).")] = 0,
    unnamed: Annotated[bool, typer.Option("--unnamed", help="Then ask who the unnamed clusters are, biggest "
                                                            "first.")] = False,
    preview: Annotated[bool, typer.Option(help="Show each sample face in the terminal (coloured half-blocks).")]
    = True,
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer "is this Alice?" for the clusters that may be a named person, biggest first: y(es), n(o), s(kip),
    q(uit) or type the right name; with --unnamed, then "who is this?" for the unnamed clusters. The cluster's best
    face is shown. The questions are worked out again after each answer. With --json, list the questions without
    asking (with --unnamed, the unnamed clusters too), each with its "question": "is_this" or "who_is_this"."""
    from faceatlas.organize.results import Answer

    library = _open(db, collection, profile)
    if as_json:  # each question: "is this <name>?" (a review item), then with --unnamed "who is this?" (a cluster)
        queue = [{"question": "is_this", **item.to_dict()} for item in guarded(lambda: library.review(limit or None))]
        if unnamed and (not limit or len(queue) < limit):
            clusters = guarded(lambda: library.people((limit - len(queue)) if limit else None, named=False))
            queue += [{"question": "who_is_this", **cluster.to_dict()} for cluster in clusters]
        _print(queue, True)
        return
    asked, answered, passed = 0, 0, set()
    while not limit or asked < limit:
        step = _next_question(library, passed, unnamed)
        if step is None:
            break
        asked += 1
        cluster, faces, where, face, item = step
        output.print(f"[{asked}] cluster {cluster} ({faces} faces), e.g. {_where(*where)}")
        if preview:
            output.print(face_preview(*where, thumbnail=guarded(lambda face=face: library.thumbnail(face))))
        question = (Text("Who is this? [name/s/q] ") if item is None else
                    Text.assemble("Is this ", (item.name, "bold"), f"? (similarity {item.score:.2f}) [y/n/s/q/name] "))
        try:
            reply = output.input(question).strip()
        except EOFError:
            break
        if reply.lower() in ("q", "quit"):
            break
        if item is None and reply.lower() in ("y", "yes", "n", "no"):  # not a name: ask again
            output.print("  -> type who it is (or s to skip, q to quit)")
            asked -= 1
            continue
        if reply.lower() in ("s", "skip", ""):
            result = Answer(cluster, "skipped")
            passed.add(cluster)
        elif item is None:
            named = guarded(lambda reply=reply, cluster=cluster: library.name(cluster, reply))
            result = Answer(named.cluster, "named", named.name, named.faces, named.samples_added)
        else:
            result = guarded(lambda reply=reply, item=item: library.answer(item, reply))
        answered += result.verdict != "skipped"
        output.print(f"  -> {_said(result)}")
    if not asked:
        hint = "" if unnamed else " (`faceatlas library review --unnamed` asks who the unnamed clusters are)"
        console.print(f"nothing to review{hint}")
        return
    console.print(f"{answered} answered")


def _next_question(library: Library, passed: set[int], unnamed: bool
                   ) -> tuple[int, int, tuple[str | None, list, int | None], int, ReviewItem | None] | None:
    """The top of the review queue, else (with `unnamed`) the biggest unnamed cluster, leaving out the clusters
    skipped: (cluster, faces, where its best face is, that face's id, the review item or None for "who is
    this?")."""
    enough = len(passed) + 1  # the first one not skipped is among these
    for item in guarded(lambda: library.review(enough)):
        if item.cluster not in passed:
            return (item.cluster, item.faces, (item.sample_path, item.sample_box, item.sample_frame_ms),
                    item.sample_face, item)
    for person in guarded(lambda: library.people(enough, named=False)) if unnamed else ():
        if person.cluster not in passed:
            return (person.cluster, person.faces, (person.sample_path, person.sample_box, person.sample_frame_ms),
                    person.sample_face, None)
    return None


def _where(path: str | None, box: list[float], frame_ms: int | None) -> str:
    """Where a face is: its photo (or video and time) and box."""
    at = "" if frame_ms is None else f" at {frame_ms / 1000:.1f} s"
    return f"{path or '(photo no longer found)'}{at} [{','.join(str(round(v)) for v in box)}]"


def face_preview(path: str | None, box: list[float], frame_ms: int | None = None, width: int = PREVIEW_COLUMNS,
                 thumbnail: bytes | None = None) -> RenderableType:
    """A face's kept `thumbnail`, else the face cut from its photo (or video frame) as thumbnails are, drawn `width`
    pixels wide in coloured half-blocks (two pixels per character cell); a note instead when neither can be read."""
    import numpy as np
    from PIL import Image
    from rich_pixels import HalfcellRenderer, Pixels

    from faceatlas.io.draw import face_crop
    from faceatlas.io.image import load_image
    from faceatlas.io.video import still

    if thumbnail is None and path is None:
        return Text("  (no preview: the photo is no longer in the library's folders)", style="dim")
    try:
        crop = load_image(thumbnail).bgr if thumbnail is not None else face_crop(still(path, frame_ms), box)
    except FaceAtlasError as error:
        return Text(f"  (no preview: {error})", style="dim")
    face = Image.fromarray(np.ascontiguousarray(crop[:, :, ::-1]))
    height = max(2, round(width * face.height / max(face.width, 1) / 2) * 2)
    return Pixels.from_image(face.convert("RGBA"), resize=(width, height), renderer=HalfcellRenderer())


def _said(result: Answer) -> str:
    if result.verdict == "skipped":
        return "skipped"
    if result.verdict == "not":
        return f"not {result.name} (not asked again)"
    return f"{result.name}: {result.faces} faces"


@library_app.command("photos")
def photos(
    person: Annotated[str | None, typer.Option("--person", help="Photos where this person appears.")] = None,
    like: Annotated[Path | None, typer.Option("--like", help="Photos of whoever is in this photo.")] = None,
    db: DbOption = None, collection: CollectionOption = None, profile: ProfileOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Every photo of a person (--person NAME) or of the people in a photo (--like IMAGE): one line per photo."""
    found = guarded(lambda: _open(db, collection, profile).photos(person=person, like=like))
    if _print([row.to_dict() for row in found], as_json):
        return
    paths = list(dict.fromkeys(row.path for row in found))
    for path in paths:
        output.print(path, highlight=False, soft_wrap=True)
    console.print(f"{len(paths)} photos")
