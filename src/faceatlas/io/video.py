"""Video files as frames sampled at a fixed interval (decoded by OpenCV's FFmpeg backend), or a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from faceatlas.errors import VideoDecodeError

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".3gp", ".mpg", ".mpeg", ".wmv"})


def iter_video_paths(folders: list[Path]) -> list[Path]:
    """Every video file under `folders` (recursive, sorted)."""
    return [p for folder in folders for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]


def sample_frames(path: str | Path, every_seconds: float) -> Iterator[tuple[int, np.ndarray]]:
    """(time in ms, BGR frame) for the first frame and one every `every_seconds` after it. Every frame is decoded
    (seeking lands on key frames only), but only the sampled ones are converted."""
    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive")
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our error says it; OpenCV's warning need not
    try:
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    finally:
        cv2.utils.logging.setLogLevel(previous)
    if not capture.isOpened():
        raise VideoDecodeError(f"{path}: not a video OpenCV can open (missing, unreadable or not a video)")
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        index, due, sampled = 0, 0.0, 0
        while capture.grab():
            ms = index * 1000.0 / fps if fps > 0 else capture.get(cv2.CAP_PROP_POS_MSEC)
            index += 1
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


def frame_at(path: str | Path, ms: int) -> np.ndarray:
    """The frame `sample_frames` gives for time `ms` (the first frame at or after it)."""
    for time_ms, frame in sample_frames(path, ms / 1000 if ms > 0 else 1.0):
        if time_ms >= ms:
            return frame
    raise VideoDecodeError(f"{path}: no frame at {ms} ms (the video is shorter)")
