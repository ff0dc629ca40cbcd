"""Where a sample's face can be found again, to re-embed it with another model (`Gallery.migrate`).

A sample's source is a plain path (a photo of that person alone: its largest face) or, for the faces a photo library
names, a path with a fragment: `PATH#face12` is face 12 of a photo, `PATH#t=12.345&face12` of a video's frame at
12.345 s (W3C media-fragment time). A fragment source is found again by its stored box.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceatlas.errors import FaceAtlasError
from faceatlas.io.image import load_image
from faceatlas.io.video import frame_at

CONTEXT = 1.0
"""A fragment source's face is cut out with this much of its box's size around it on each side, enough for a
detector to find it again and, mostly, no other face."""


def face_source(path: str, face_id: int, frame_ms: int | None = None) -> str:
    """The source of face `face_id` of the photo (or, with `frame_ms`, video frame) at `path`."""
    time = "" if frame_ms is None else f"t={frame_ms / 1000:.3f}&"
    return f"{path}#{time}face{face_id}"


def face_region(source: str, box: list[float]) -> np.ndarray | None:
    """The pixels (BGR) around `box` in a fragment source's photo or frame; None for a plain source, or when the
    file is gone or cannot be read."""
    path, hash_sign, fragment = source.rpartition("#")  # a path may hold a "#" too; the fragment never does
    parts: dict[str, str] = {}
    if not hash_sign or not Path(path).is_file() or len(box) != 4:
        return None
    for part in fragment.split("&"):
        key, _, value = part.partition("=")
        parts[key] = value
    try:
        bgr = frame_at(path, round(float(parts["t"]) * 1000)) if "t" in parts else load_image(path).bgr
    except (FaceAtlasError, ValueError):
        return None
    x1, y1, x2, y2 = box
    margin_x, margin_y = CONTEXT * (x2 - x1), CONTEXT * (y2 - y1)
    left, top = max(int(x1 - margin_x), 0), max(int(y1 - margin_y), 0)
    right, bottom = min(int(x2 + margin_x), bgr.shape[1]), min(int(y2 + margin_y), bgr.shape[0])
    return np.ascontiguousarray(bgr[top:bottom, left:right]) if right > left and bottom > top else None
