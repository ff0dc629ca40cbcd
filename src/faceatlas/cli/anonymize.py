"""`faceatlas anonymize`: hide every face of an image or video, or of a folder of them, in new files without
metadata (a video's audio copied through); a keep-list leaves consenting people of a gallery visible."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from faceatlas.cli.common import (
    MaxPixelsOption,
    ProfileOption,
    ThreadsOption,
    console,
    exit_if_all_failed,
    fail,
    progress_bar,
    styled,
)
from faceatlas.cli.gallery import CollectionOption, open_gallery
from faceatlas.errors import FaceAtlasError
from faceatlas.privacy import ENLARGE, recall_analyzer, write_anonymized
from faceatlas.privacy.images import RECALL_THRESHOLD, output_path
from faceatlas.privacy.keep import KeepList

if TYPE_CHECKING:
    from faceatlas.pipeline import FaceAnalyzer


class Mode(StrEnum):
    """The choices of `--mode`: the keys of `faceatlas.privacy.MODES` (a test keeps them equal)."""

    blur = "blur"
    pixelate = "pixelate"
    solid = "solid"
    mask = "mask"


def anonymize(
    source: Annotated[Path, typer.Argument(help="An image or video file, or a folder of them (searched "
                                                "recursively).")],
    output: Annotated[Path, typer.Argument(help="The anonymised file (or a folder for it); for a folder IN, a "
                                                "folder that mirrors IN's sub-folders (not inside IN).")],
    mode: Annotated[Mode, typer.Option(help="How faces are hidden.")] = Mode.blur,
    enlarge: Annotated[float, typer.Option(min=1.0, help="Each face's box is made this much wider (and taller: up "
                                                         "over the hairline, further down over the chin) before "
                                                         "it is hidden.")] = ENLARGE,
    threshold: Annotated[float, typer.Option(min=0.05, max=0.95, help="The detector's score threshold: lower hides "
                                                                      "more faces and more background.")]
    = RECALL_THRESHOLD,
    keep_db: Annotated[str | None, typer.Option("--keep-db", help="A gallery of people who consented: they stay "
                                                                  "visible, everyone else is hidden.")] = None,
    keep: Annotated[list[str] | None, typer.Option("--keep", help="With --keep-db: only this person stays visible "
                                                                  "(repeat for several; default: all of them).")]
    = None,
    hide_only: Annotated[bool, typer.Option("--hide-only", help="With --keep-db: the reverse, only the people "
                                                                "named by --keep are hidden.")] = False,
    collection: CollectionOption = None,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    max_pixels: MaxPixelsOption = None,
) -> None:
    """Hide every face (blur, pixelate, solid box or ellipse mask) in new images re-encoded from their pixels, and
    videos re-encoded at their own timing with their audio copied, so no metadata (EXIF, GPS, XMP, container tags) is
    kept; originals are never changed. In a video faces are tracked, so a face the detector misses for a few frames
    stays hidden. A bad file is reported and skipped.
    Exit 0: at least one file anonymised; otherwise the exit code of the files' error (1 if they differ)."""
    from faceatlas.io.files import inside, private_folder
    from faceatlas.io.image import shown
    from faceatlas.io.video import VIDEO_SUFFIXES

    try:
        targets = _targets(source, output)
        analyzer = recall_analyzer(profile, threads, max_pixels, threshold)
        keeping = _keep_list(keep_db, collection, profile, keep, hide_only)
    except (FaceAtlasError, ValueError) as error:
        raise fail(error) from None
    videos = [path for path in targets if path.suffix.lower() in VIDEO_SUFFIXES]
    files = [path for path in targets if path not in videos]
    counts = {"files": 0, "faces": 0, "failed": 0}
    codes: set[int] = set()
    try:
        with progress_bar() as progress:
            task = progress.add_task("anonymising", total=len(targets), visible=len(targets) > 1)
            for shot in analyzer.shots(files, embed=keeping is not None, folders=False):
                path = files[shot.index]
                counts["files"] += 1
                try:
                    target = inside(output, targets[path])  # resolved: never written through a link out of OUT
                    private_folder(target.parent)
                    result = write_anonymized(shot, target, mode.value, enlarge, keeping)
                    counts["faces"] += result.faces_hidden
                except (FaceAtlasError, ValueError, OSError) as error:
                    counts["failed"] += 1
                    codes.add(error.exit_code if isinstance(error, FaceAtlasError) else 1)
                    console.print(styled("failed", "red", f" {shown(path)}: {error}"))
                progress.advance(task)
            video_analyzer = _video_analyzer(profile, threads, max_pixels, threshold)
            for path in videos:
                counts["files"] += 1
                try:
                    counts["faces"] += _video(path, inside(output, targets[path]), mode.value, enlarge, keeping,
                                              video_analyzer, max_pixels)
                except (FaceAtlasError, ValueError, OSError) as error:
                    if getattr(error, "exit_code", None) == 5:  # a model problem: fatal for every file
                        raise
                    counts["failed"] += 1
                    codes.add(error.exit_code if isinstance(error, FaceAtlasError) else 1)
                    console.print(styled("failed", "red", f" {shown(path)}: {error}"))
                progress.advance(task)
    except FaceAtlasError as error:  # a model problem is fatal for every file: stop with its fix
        raise fail(error) from None
    files_done = f"{counts['files']} file{'' if counts['files'] == 1 else 's'}"
    console.print(f"{files_done}, {counts['faces']} faces hidden ({mode.value}), {counts['failed']} failed")
    exit_if_all_failed(counts["failed"], counts["files"], codes)


def _keep_list(db: str | None, collection: str | None, profile: str | None, names: list[str] | None,
               hide_only: bool) -> KeepList | None:
    if db is None:
        if names or hide_only:
            raise ValueError("--keep and --hide-only name people of a gallery: add --keep-db")
        return None
    return KeepList(open_gallery(db, collection, profile), frozenset(names or ()), hide_only)


def _video_analyzer(profile: str | None, threads: int | None, max_pixels: int | None, threshold: float
                    ) -> FaceAnalyzer:
    from faceatlas.privacy.video import video_anonymizer

    return video_anonymizer(profile, threads, max_pixels, threshold)


def _video(path: Path, target: Path, mode: str, enlarge: float, keep: KeepList | None, analyzer: FaceAnalyzer,
           max_pixels: int | None) -> int:
    """Anonymise one video into `target` and print what was done; the face instances hidden."""
    from faceatlas.io.files import private_folder
    from faceatlas.io.image import shown
    from faceatlas.io.media import VideoSource
    from faceatlas.privacy.video import anonymize_video

    private_folder(target.parent)
    result = anonymize_video(VideoSource(path, max_pixels=max_pixels), target, mode, enlarge, analyzer, keep)
    kept = f", {result.kept_visible} left visible" if keep else ""
    console.print(f"{shown(path)}: {result.frames} frames, {result.frames_touched} touched, {result.tracks} tracks, "
                  f"{result.faces_hidden} faces hidden ({result.held} held or interpolated){kept}, "
                  f"{result.audio_streams} audio stream(s) copied{f'; {result.warning}' if result.warning else ''}")
    return result.faces_hidden


def _output_path(path: Path) -> Path:
    """Where the anonymised copy of the image or video `path` goes: the same name, or another suffix for a format
    that is not written (an image as PNG, a video as MP4)."""
    from faceatlas.io.media import OUTPUT_FORMATS
    from faceatlas.io.video import VIDEO_SUFFIXES

    if path.suffix.lower() in VIDEO_SUFFIXES:
        return path if path.suffix.lower() in OUTPUT_FORMATS else path.with_suffix(".mp4")
    return output_path(path)


def _targets(source: Path, output: Path) -> dict[Path, Path]:
    """Each input image and where its anonymised copy goes: a file into `output` (or into the folder `output`), a
    folder's images under `output` at their path relative to `source`. Refuses what could overwrite an input."""
    from faceatlas.io.image import IMAGE_SUFFIXES, iter_image_paths
    from faceatlas.io.video import VIDEO_SUFFIXES

    if not source.exists():
        raise ValueError(f"{source} does not exist")
    if source.is_file():
        target = output / source.name if output.is_dir() else output
        if target.resolve() == source.resolve():
            raise ValueError(f"{output} is the input itself: choose another output")
        return {source: target}
    if output.resolve().is_relative_to(source.resolve()):
        raise ValueError(f"the output folder {output} is inside the input folder {source}: choose one outside it")
    if output.exists() and not output.is_dir():
        raise ValueError(f"{output} is a file: a folder IN needs a folder OUT")
    files = iter_image_paths([source], IMAGE_SUFFIXES | VIDEO_SUFFIXES)
    if not files:
        raise ValueError(f"no image or video files found in {source}")
    targets: dict[Path, Path] = {}
    for path in sorted(files, key=lambda f: _output_path(f) != f):  # a file written in its own format keeps its name
        target = _output_path(output / path.relative_to(source))
        if target in targets.values():  # a.gif and a.png would both write a.png: keep the first suffix in the name
            target = target.with_name(path.name + target.suffix)
        targets[path] = target
    return targets
