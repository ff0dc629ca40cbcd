"""`faceatlas analyze`: every face of images, and every track of videos, as JSON records, a summary table, drawings
and face crops."""

from __future__ import annotations

import json
import sys
import time
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from faceatlas.attributes import HEADS
from faceatlas.cli.common import (
    MaxPixelsOption,
    ProfileOption,
    ThreadsOption,
    console,
    exit_if_all_failed,
    fail,
    output,
    progress_bar,
    styled,
)
from faceatlas.errors import USAGE_EXIT_CODE, FaceAtlasError
from faceatlas.pipeline import FaceAnalyzer

if TYPE_CHECKING:
    from faceatlas.types import Shot
    from faceatlas.video import FaceFollower


def analyze(
    paths: Annotated[list[Path], typer.Argument(help="Image files and folders (searched recursively).")],
    embed: Annotated[bool, typer.Option("--embed", help="Add identity embeddings.")] = False,
    attributes: Annotated[bool, typer.Option("--attributes", help="Add age, gender, expression, quality, the "
                                                                  "468-point mesh, head pose and eyes.")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write one JSON record per image ('-': stdout).")]
    = None,
    draw: Annotated[Path | None, typer.Option(help="Write a copy of each image into this folder with every face "
                                                   "boxed and labelled: its index, and its attributes when "
                                                   "computed.")] = None,
    crops: Annotated[Path | None, typer.Option(help="Write each face's aligned 112-pixel crop (what the recogniser "
                                                    "sees) into this folder, named by image and face index.")]
    = None,
    context: Annotated[bool, typer.Option("--context", help="With --crops, also write a wider crop of each face "
                                                            "(twice the box, as found).")] = False,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    max_pixels: MaxPixelsOption = None,
) -> None:
    """Detect every face (and optionally embed and describe it) in images; bad files are reported and skipped.
    Exit 0: at least one image analysed; otherwise the exit code of the images' error (1 if they differ)."""
    from faceatlas.io.files import private_folder, private_output
    from faceatlas.io.image import IMAGE_SUFFIXES, iter_image_paths, shown
    from faceatlas.io.video import VIDEO_SUFFIXES

    found = iter_image_paths(paths, IMAGE_SUFFIXES | VIDEO_SUFFIXES)
    videos = [path for path in found if path.suffix.lower() in VIDEO_SUFFIXES]
    files = [path for path in found if path not in videos]
    if not found:
        raise fail(ValueError("no image or video files found in the given paths"))
    if context and not crops:
        raise fail(ValueError("--context widens the crops of --crops DIR: add --crops"))
    try:
        analyzer = FaceAnalyzer(profile=profile, threads=threads, heads=HEADS if attributes else (),
                                max_pixels=max_pixels)
    except (FaceAtlasError, ValueError) as error:
        console.print(styled("error:", "red", f" {error}"))
        raise typer.Exit(USAGE_EXIT_CODE) from None
    try:  # the records, drawings and crops show faces: private files, never written through a link
        sink = sys.stdout if str(json_out) == "-" else (private_output(json_out) if json_out else None)
        for folder in (draw, crops):
            if folder:
                private_folder(folder)
    except OSError as error:
        console.print(styled("error:", "red", f" cannot write {error.filename}: {error.strerror}"))
        raise typer.Exit(USAGE_EXIT_CODE) from None
    summary = Table("file", "faces", "ms", *(["attributes"] if attributes else []), "note")
    counts = {"images": 0, "faces": 0, "errors": 0}
    codes: set[int] = set()
    try:
        with progress_bar() as progress:
            task = progress.add_task("analysing", total=len(found), visible=len(found) > 1)
            records = ((files[shot.index], _record(shot, files[shot.index]), shot)
                       for shot in analyzer.shots(files, embed=embed, folders=False))
            follower = _follower(analyzer) if videos else None
            for path, record, shot in chain(records, ((p, _video_record(follower, p, embed, max_pixels), None)
                                                       for p in videos)):
                if shot is not None and shot.error is None:
                    _write_pictures(analyzer, shot, path, record, draw, crops, context)
                elif record["error"] is not None:
                    codes.add(_exit_code(record))
                counts["images"] += 1
                counts["faces"] += len(record["faces"])
                counts["errors"] += record["error"] is not None
                if sink:
                    sink.write(json.dumps(record) + "\n")
                if len(files) <= 50 or record["error"] is not None:
                    note = record["error"]["message"] if record["error"] else record.get("fallback", "")
                    described = [describe(face) for face in record["faces"]] if attributes else None
                    summary.add_row(shown(path), str(len(record["faces"])),
                                    str(record.get("elapsed_ms", "")),
                                    *(["; ".join(described)] if described is not None else []), note)
                progress.advance(task)
    except FaceAtlasError as error:  # a model problem is fatal for every file: stop with its fix
        raise fail(error) from None
    finally:
        if sink and sink is not sys.stdout:
            sink.close()
    if sink is not sys.stdout:
        output.print(summary)
    console.print(f"{counts['images']} files, {counts['faces']} faces, {counts['errors']} skipped with an error")
    exit_if_all_failed(counts["errors"], counts["images"], codes)


def _exit_code(record: dict) -> int:
    from faceatlas import errors

    return getattr(errors, record["error"]["type"], errors.FaceAtlasError).exit_code


def _follower(analyzer: FaceAnalyzer) -> FaceFollower:
    """The tracker over videos, with the heads `analyzer` has (run on each track's embedded faces only)."""
    from faceatlas.video import FaceFollower, video_analyzer

    spec = analyzer.spec
    return FaceFollower(video_analyzer(spec.profile, spec.threads, spec.max_pixels).with_heads(*spec.heads))


def _video_record(follower: FaceFollower, path: Path, embed: bool, max_pixels: int | None) -> dict:
    """The JSON record of one video: one face per track (its best shot's box, landmarks and attributes; with
    `embed`, the track's quality-weighted template as its embedding), with the track's span."""
    from faceatlas.io.image import shown
    from faceatlas.io.media import VideoSource
    from faceatlas.io.records import SCHEMA_VERSION, error_record

    started = time.perf_counter()
    try:
        frames = sum(1 for _ in follower.follow(VideoSource(path, max_pixels=max_pixels)))
    except FaceAtlasError as error:
        return error_record(shown(path), error)
    record: dict = {"schema_version": SCHEMA_VERSION, "path": shown(path), "error": None, "frames": frames}
    faces = []
    for track in sorted(follower.ended, key=lambda t: t.track_id):
        best = track.best_face
        if best is None or track.template is None:
            continue
        best = best.with_embeddings(track.template[None], best.embedding_model) if embed \
            else best.with_embeddings(None, None)
        described = best.to_dict()
        record.update({k: described[k] for k in ("image_size", "detector", "embedding_model", "licences")
                       if k in described})
        faces.append({**described["faces"][0], "track_id": track.track_id, "first_ms": track.first_ms,
                      "last_ms": track.last_ms, "frames": track.frames, "best_ms": track.best_ms})
    return {**record, "tracks": len(faces), "faces": faces, "elapsed_ms": round((time.perf_counter() - started)
                                                                                 * 1000, 2)}


def _record(shot: Shot, path: Path) -> dict:
    """The JSON record of one analysed image."""
    from faceatlas.io.image import shown
    from faceatlas.io.records import error_record, success_record

    if shot.error is not None:
        return error_record(shown(path), shot.error)
    return success_record(shown(path), shot.faces, sum(shot.ms.values()))


def _write_pictures(analyzer: FaceAnalyzer, shot: Shot, path: Path, record: dict, draw: Path | None,
                    crops: Path | None, context: bool) -> None:
    """With `draw`, the image with its faces boxed and labelled; with `crops`, each face's aligned crop (and with
    `context` a wider one), named `<image number>_<name>_face<index>`."""
    import cv2

    from faceatlas.io.draw import draw_faces, face_crop
    from faceatlas.io.files import slug, write_atomically
    from faceatlas.io.image import shown

    stem = f"{shot.index:05d}_{slug(shown(path.stem))}"
    if draw:
        labels = [f"#{i} {face['score']:.2f}" + (f"\n{brief(face)}" if face.get("attributes") else "")
                  for i, face in enumerate(record["faces"])]
        drawn = draw_faces(shot.image, shot.faces, labels)
        write_atomically(draw / f"{stem}.jpg", cv2.imencode(".jpg", drawn)[1].tobytes())
    if crops:
        for i, crop in enumerate(analyzer.aligned_crops(shot.image, shot.faces)):
            write_atomically(crops / f"{stem}_face{i}.jpg", cv2.imencode(".jpg", crop)[1].tobytes())
            if context:
                wide = face_crop(shot.image, shot.faces.boxes[i], widen=2.0)
                write_atomically(crops / f"{stem}_face{i}_context.jpg", cv2.imencode(".jpg", wide)[1].tobytes())


def brief(face: dict) -> str:
    """A face's attributes in a few words for a drawing: "female 28 happy q0.71"."""
    a = face.get("attributes", {})
    words = [a.get("gender"), f"{a['age']:.0f}" if "age" in a else None, a.get("expression"),
             f"q{a['quality']:.2f}" if "quality" in a else None]
    return " ".join(w for w in words if w)


def describe(face: dict) -> str:
    """One face's attributes for the summary table: "female 28±2 happy quality 0.71 yaw +12 pitch -3 roll +1
    eyes open .31/.29, looking at the camera"."""
    a = face.get("attributes", {})
    looking = ", looking at the camera" if a.get("looking_at_camera") else ""
    return (f"{a.get('gender', '?')} {a.get('age', 0):.0f}±{a.get('age_std', 0):.0f} {a.get('expression', '?')} "
            f"quality {a.get('quality', 0):.2f} yaw {a.get('yaw', 0):+.0f} pitch {a.get('pitch', 0):+.0f} "
            f"roll {a.get('roll', 0):+.0f} eyes open {a.get('left_eye_openness', 0):.2f}/"
            f"{a.get('right_eye_openness', 0):.2f}{looking}")
