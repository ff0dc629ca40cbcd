"""Where a sample's face can be found again, to re-embed it with another model (`Gallery.migrate`).

A sample's source is a plain path (a photo of that person alone: its largest face) or, for the faces a photo library
names, a path with a fragment: `PATH#face12&sha256=HEX` is face 12 of a photo whose content has that SHA-256,
`PATH#t=12.345&face12&sha256=HEX` of a video's frame at 12.345 s (W3C media-fragment time). A fragment source's face
is the one found again at the sample's stored box, and only while the file there still has that content (a photo
replaced by another at the same path is not where the face is any more).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceatlas.errors import FaceAtlasError
from faceatlas.io.video import still
from faceatlas.models.store import sha256_file


def face_source(path: str, face_id: int, frame_ms: int | None = None, sha256: str | None = None) -> str:
    """The source of face `face_id` of the photo (or, with `frame_ms`, video frame) at `path`, whose content has
    this `sha256`."""
    time = "" if frame_ms is None else f"t={frame_ms / 1000:.3f}&"
    content = "" if sha256 is None else f"&sha256={sha256}"
    return f"{path}#{time}face{face_id}{content}"


def fragment_face(source: str) -> int | None:
    """The library face a fragment source names (`face_source`), or None."""
    _, hash_sign, fragment = source.rpartition("#")
    faces = [part[4:] for part in fragment.split("&") if part.startswith("face")] if hash_sign else []
    return int(faces[0]) if faces and faces[0].isdigit() else None


def fragment_image(source: str) -> np.ndarray | None:
    """The photo or video frame (BGR) a fragment source names; None for a plain source, or when the file is gone,
    holds other content now, or cannot be read."""
    path, hash_sign, fragment = source.rpartition("#")  # a path may hold a "#" too; the fragment never does
    if not hash_sign or not Path(path).is_file():
        return None
    parts = dict(part.partition("=")[::2] for part in fragment.split("&"))
    try:
        if "sha256" in parts and sha256_file(path) != parts["sha256"]:
            return None
        return still(path, round(float(parts["t"]) * 1000) if "t" in parts else None)
    except (FaceAtlasError, ValueError, OSError):
        return None

