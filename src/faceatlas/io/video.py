"""Video files as frames sampled at a fixed interval (decoded by OpenCV's FFmpeg backend), or a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from faceatlas.errors import VideoDecodeError
from faceatlas.io.image import load_image

SEEK_BACK_MS = 3000
"""`frame_at` seeks this far before the frame it wants and decodes forward from there."""

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".3gp", ".mpg", ".mpeg", ".wmv"})


def _open(path: str | Path) -> cv2.VideoCapture:
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our error says it; OpenCV's warning need not
    try:
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    finally:
        cv2.utils.logging.setLogLevel(previous)
    if not capture.isOpened():
        raise VideoDecodeError(f"{path}: not a video OpenCV can open (missing, unreadable or not a video)")
    return capture


def sample_frames(path: str | Path, every_seconds: float) -> Iterator[tuple[int, np.ndarray]]:
    """(time in ms, BGR frame) for the first frame and one every `every_seconds` after it. Times are the frames'
    own timestamps (phones record at variable frame rates). Every frame is decoded (seeking lands on key frames
    only), but only the sampled ones are converted."""
    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive")
    capture = _open(path)
    try:
        due, sampled = 0.0, 0
        while capture.grab():
            ms = capture.get(cv2.CAP_PROP_POS_MSEC)
            if ms + 1e-6 < due:
                continue
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                continue
            sampled += 1
            due = ms + every_seconds * 1000.0
            yield round(ms), frame
        if sampled == 0:
            raise VideoDecodeError(f"{path}: no frame could be decoded (empty, truncated or not a video)")
    finally:
        capture.release()


def still(path: str | Path, frame_ms: int | None = None) -> np.ndarray:
    """The photo at `path` or, with `frame_ms`, that frame of the video at `path` (BGR)."""
    return load_image(path).bgr if frame_ms is None else frame_at(path, frame_ms)


def frame_at(path: str | Path, ms: int) -> np.ndarray:
    """The frame `sample_frames` gives for time `ms`: decoded from a seek a little before it, or, when the seek
    lands past it (variable frame rates fool it), from the start."""
    for start in (max(ms - SEEK_BACK_MS, 0), 0):
        capture = _open(path)
        try:
            if start:
                capture.set(cv2.CAP_PROP_POS_MSEC, start)
            while capture.grab():
                now = round(capture.get(cv2.CAP_PROP_POS_MSEC))
                if now == ms:
                    ok, frame = capture.retrieve()
                    if ok and frame is not None:
                        return frame
                if now >= ms:
                    break
        finally:
            capture.release()
        if not start:
            break
    raise VideoDecodeError(f"{path}: no frame at {ms} ms (the video is shorter, or damaged there)")
