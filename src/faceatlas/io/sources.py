"""Everything a user hands the pipeline, as one stream of decoded pictures.

A source is a path (an image; a video when frames are asked for), a folder (searched recursively), bytes, a NumPy
array, a PIL image, a `VideoSource` (a video's every frame, a camera, a stream), or a list, tuple or generator of
these. Each gives one `Picture` (a video one per frame taken); a
source that cannot be read, or is of a kind that is not a picture, gives one `Picture` with its error instead, and
the stream goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from faceatlas.config import get_settings
from faceatlas.errors import FaceAtlasError, ImageDecodeError
from faceatlas.io.image import IMAGE_SUFFIXES, ColorOrder, ImageSource, iter_image_paths, load_image
from faceatlas.io.media import VideoSource
from faceatlas.io.video import VIDEO_SUFFIXES, SampledVideo

Sources = ImageSource | Iterable[ImageSource]
"""One source, or several."""

_SINGLE = (str, Path, bytes, bytearray, memoryview, np.ndarray, Image.Image)
_MANY = (list, tuple, Iterator)


@dataclass
class Picture:
    """One decoded picture, or the reason a source gave none."""

    index: int  # position of its file or item among the sources (folders expanded)
    source: str | None  # the path; None for in-memory input
    bgr: np.ndarray | None  # (H, W, 3) uint8
    frame: int | None = None  # a video's picture: its number among the frames taken
    time_ms: int | None = None  # a video's picture: its timestamp
    error: FaceAtlasError | None = None
    warning: str | None = None  # set on a video's last picture when the video is damaged after it
    decode_ms: float = 0.0


def is_single(source: object) -> bool:
    """Whether `source` is one item rather than a list, tuple or generator of them."""
    return isinstance(source, _SINGLE) or not isinstance(source, _MANY)


def expand(sources: Sources, videos: bool = False, folders: bool = True) -> Iterator[ImageSource]:
    """The items of `sources` (read lazily: a generator of arrays streams) with folders replaced by the images (and,
    with `videos`, videos) under them; with `folders=False` a folder stays one item (it then fails to decode, and the
    items keep their positions)."""
    items = [sources] if is_single(sources) else sources
    suffixes = IMAGE_SUFFIXES | VIDEO_SUFFIXES if videos else IMAGE_SUFFIXES
    for item in items:
        if folders and isinstance(item, str | Path) and Path(item).is_dir():
            yield from iter_image_paths([Path(item)], suffixes)
        else:
            yield item


def pictures(sources: Sources, color: ColorOrder = "bgr", max_pixels: int | None = None, videos: bool = False,
             every: float | None = None, folders: bool = True) -> Iterator[Picture]:
    """Decoded pictures of `sources`, one at a time (`load_image`'s rules and limits). A path with a video suffix
    gives its frames when `videos` is set or `every` is given: one every `every` seconds (default: the `frame_every`
    setting), every frame with `every=0`. See `expand` for `folders`."""
    for index, item in enumerate(expand(sources, videos, folders)):
        if isinstance(item, VideoSource):
            yield from _source_frames(index, item)
            continue
        name = str(item) if isinstance(item, str | Path) else None
        if name is not None and (videos or every is not None) and Path(name).suffix.lower() in VIDEO_SUFFIXES:
            yield from _frames(index, name, get_settings().frame_every if every is None else every)
            continue
        started = time.perf_counter()
        try:
            loaded = load_image(item, color=color, max_pixels=max_pixels)
        except FaceAtlasError as error:
            yield Picture(index, name, None, error=error)
            continue
        except TypeError as error:  # not a kind of picture at all
            yield Picture(index, name, None, error=ImageDecodeError(str(error)))
            continue
        yield Picture(index, loaded.source, loaded.bgr, decode_ms=(time.perf_counter() - started) * 1000)


def _frames(index: int, path: str, every: float) -> Iterator[Picture]:
    """A video's frames sampled every `every` seconds (OpenCV; see `_held_back`)."""
    video = SampledVideo(path, every)
    return _held_back(index, path, ((number, ms, bgr) for number, (ms, bgr) in enumerate(video)), video)


def _source_frames(index: int, source: VideoSource) -> Iterator[Picture]:
    """The frames of a `VideoSource` (PyAV: a file, a camera, a stream; see `_held_back`)."""
    return _held_back(index, source.name, ((f.number, f.time_ms, f.bgr) for f in source), source)


def _held_back(index: int, name: str, frames: Iterator[tuple[int, int, np.ndarray]], video: SampledVideo | VideoSource
               ) -> Iterator[Picture]:
    """`frames` (number, time, pixels) as pictures, the last carrying `video.damage` (one frame is held back to know
    it); a video that fails gives a last picture with its error (a stream lost for good, say) and the stream of
    pictures goes on."""
    held: Picture | None = None
    started = time.perf_counter()
    try:
        for number, ms, bgr in frames:
            if held is not None:
                yield held
            held = Picture(index, name, bgr, frame=number, time_ms=ms, decode_ms=(time.perf_counter() - started) * 1000)
            started = time.perf_counter()
    except (FaceAtlasError, OSError) as error:
        if held is not None:
            yield held
        reason = error if isinstance(error, FaceAtlasError) else ImageDecodeError(f"{name}: {error}")
        yield Picture(index, name, None, error=reason)
        return
    if held is not None:
        held.warning = video.damage
        yield held
