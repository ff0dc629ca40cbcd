"""Video files as frames sampled at a fixed interval (decoded by OpenCV's FFmpeg backend), or a clear error."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from faceatlas.errors import VideoDecodeError
from faceatlas.io.image import load_image
from faceatlas.io.media import utf8_name

# FFmpeg prints its own complaints about a broken file ("moov atom not found") to the terminal, past the error that
# says it in our words; OpenCV reads this when it first opens a video, and a user's own setting wins
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

SEEK_BACK_MS = 3000
"""`frames_at` seeks this far before the first frame it wants and decodes forward from there."""

DAMAGE_SLACK_MS = 1000.0
"""A video whose frames end this much before the length its container states is damaged (intact ones on the sample
videos end within 0.2 s of it: the stated frame count and rate are rounded)."""

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".3gp", ".mpg", ".mpeg", ".wmv"})


def _open(path: str | Path) -> cv2.VideoCapture:
    utf8_name(path)  # OpenCV would crash the process on such a name
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our error says it; OpenCV's warning need not
    try:
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    finally:
        cv2.utils.logging.setLogLevel(previous)
    if not capture.isOpened():
        raise VideoDecodeError(f"{path}: not a video OpenCV can open (missing, unreadable, truncated or not a video)")
    return capture


class SampledVideo:
    """(time in ms, BGR frame) for a video's first frame and one every `every_seconds` after it (0: every frame), when
    iterated.
    Times are the frames' own timestamps (phones record at variable frame rates). Every frame is decoded (seeking
    lands on key frames only), but only the sampled ones are converted. A video that stops decoding before the length
    its container states (damaged, or cut short where the file keeps its index at the front; one cut short before an
    index kept at its end cannot be opened) gives what it can, and `damage` then says so."""

    def __init__(self, path: str | Path, every_seconds: float) -> None:
        if every_seconds < 0:
            raise ValueError("every_seconds must be 0 (every frame) or positive")
        self.path, self.every_seconds = path, every_seconds
        self.damage: str | None = None

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        capture = _open(self.path)
        try:
            fps, frames = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
            due, sampled, end = 0.0, 0, 0.0
            while capture.grab():
                ms = capture.get(cv2.CAP_PROP_POS_MSEC)
                end = ms + (1000.0 / fps if fps > 0 else 0.0)
                if ms + 1e-6 < due:
                    continue
                ok, frame = capture.retrieve()
                if not ok or frame is None:
                    continue
                sampled += 1
                due = ms + self.every_seconds * 1000.0
                yield round(ms), frame
            if sampled == 0:
                raise VideoDecodeError(f"{self.path}: no frame could be decoded (empty, truncated or not a video)")
            stated = frames / fps * 1000.0 if fps > 0 and frames > 0 else 0.0
            if end < stated - DAMAGE_SLACK_MS:
                self.damage = (f"decoded {end / 1000:.1f} s of the {stated / 1000:.1f} s it states (truncated or "
                               f"damaged after that)")
        finally:
            capture.release()


def still(path: str | Path, frame_ms: int | None = None) -> np.ndarray:
    """The photo at `path` or, with `frame_ms`, that frame of the video at `path` (BGR)."""
    return load_image(path).bgr if frame_ms is None else frame_at(path, frame_ms)


def frame_at(path: str | Path, ms: int) -> np.ndarray:
    """The frame `SampledVideo` gives for time `ms` (see `frames_at`)."""
    for _, frame in frames_at(path, [ms]):
        return frame
    raise VideoDecodeError(f"{path}: no frame at {ms} ms (the video is shorter, or damaged there)")


def frames_at(path: str | Path, times: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(time, frame) for the frames `SampledVideo` gives at the times `times` (ms; a time 1 ms off a frame's, as
    PyAV's `VideoSource` may round it, finds that frame), in one pass, one frame in memory at a time: decoded from a
    seek a little before the first of them or, for those the seek lands past (variable frame rates fool it), from the
    start. A time with no frame (past the end, or damaged) is left out."""
    wanted = set(times)
    start = max(min(wanted) - SEEK_BACK_MS, 0) if wanted else 0
    while wanted:
        capture, landed = _open(path), None
        try:
            if start:
                capture.set(cv2.CAP_PROP_POS_MSEC, start)
            last = max(wanted)
            while wanted and capture.grab():
                now = round(capture.get(cv2.CAP_PROP_POS_MSEC))
                landed = now if landed is None else landed
                hit = next((ms for ms in (now, now - 1, now + 1) if ms in wanted), None)
                if hit is not None:
                    ok, frame = capture.retrieve()
                    if ok and frame is not None:
                        wanted.discard(hit)
                        yield hit, frame
                if now >= last:
                    break
        finally:
            capture.release()
        if not start:
            return
        wanted, start = {ms for ms in wanted if landed is None or ms < landed}, 0
