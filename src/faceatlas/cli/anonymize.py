"""`faceatlas anonymize`: hide every face of an image, or of a folder of images, in new files without metadata."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

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
from faceatlas.errors import FaceAtlasError
from faceatlas.privacy import ENLARGE, recall_analyzer, write_anonymized
from faceatlas.privacy.images import output_path


class Mode(StrEnum):
    """The choices of `--mode`: the keys of `faceatlas.privacy.MODES` (a test keeps them equal)."""

    blur = "blur"
    pixelate = "pixelate"
    solid = "solid"
    mask = "mask"


def anonymize(
    source: Annotated[Path, typer.Argument(help="An image file, or a folder of images (searched recursively).")],
    output: Annotated[Path, typer.Argument(help="The anonymised file (or a folder for it); for a folder IN, a "
                                                "folder that mirrors IN's sub-folders (not inside IN).")],
    mode: Annotated[Mode, typer.Option(help="How faces are hidden.")] = Mode.blur,
    enlarge: Annotated[float, typer.Option(min=1.0, help="Each face's box is made this much wider (and taller, "
                                                         "mostly upward) before it is hidden.")] = ENLARGE,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    max_pixels: MaxPixelsOption = None,
) -> None:
    """Hide every face (blur, pixelate, solid box or ellipse mask) in new images re-encoded from their pixels, so no
    metadata (EXIF, GPS, XMP) is kept; originals are never changed. A bad file is reported and skipped.
    Exit 0: at least one image anonymised; otherwise the exit code of the images' error (1 if they differ)."""
    from faceatlas.io.files import inside, private_folder
    from faceatlas.io.image import shown

    try:
        targets = _targets(source, output)
        analyzer = recall_analyzer(profile, threads, max_pixels)
    except (FaceAtlasError, ValueError) as error:
        raise fail(error) from None
    files = list(targets)
    counts = {"files": 0, "faces": 0, "failed": 0}
    codes: set[int] = set()
    try:
        with progress_bar() as progress:
            task = progress.add_task("anonymising", total=len(files), visible=len(files) > 1)
            for shot in analyzer.shots(files, embed=False, folders=False):
                path = files[shot.index]
                counts["files"] += 1
                try:
                    target = inside(output, targets[path])  # resolved: never written through a link out of OUT
                    private_folder(target.parent)
                    result = write_anonymized(shot, target, mode.value, enlarge)
                    counts["faces"] += result.faces_hidden
                except (FaceAtlasError, ValueError, OSError) as error:
                    counts["failed"] += 1
                    codes.add(error.exit_code if isinstance(error, FaceAtlasError) else 1)
                    console.print(styled("failed", "red", f" {shown(path)}: {error}"))
                progress.advance(task)
    except FaceAtlasError as error:  # a model problem is fatal for every file: stop with its fix
        raise fail(error) from None
    files_done = f"{counts['files']} file{'' if counts['files'] == 1 else 's'}"
    console.print(f"{files_done}, {counts['faces']} faces hidden ({mode.value}), {counts['failed']} failed")
    exit_if_all_failed(counts["failed"], counts["files"], codes)


def _targets(source: Path, output: Path) -> dict[Path, Path]:
    """Each input image and where its anonymised copy goes: a file into `output` (or into the folder `output`), a
    folder's images under `output` at their path relative to `source`. Refuses what could overwrite an input."""
    from faceatlas.io.image import iter_image_paths

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
    files = iter_image_paths([source])
    if not files:
        raise ValueError(f"no image files found in {source}")
    targets: dict[Path, Path] = {}
    for path in sorted(files, key=lambda f: output_path(f) != f):  # a file written in its own format keeps its name
        target = output_path(output / path.relative_to(source))
        if target in targets.values():  # a.gif and a.png would both write a.png: keep the first suffix in the name
            target = target.with_name(path.name + target.suffix)
        targets[path] = target
    return targets
