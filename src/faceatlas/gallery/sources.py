"""Where a sample's face can be found again, to re-embed it with another model (`Gallery.migrate`).

A sample's source is a plain path (a photo of that person alone) or a path with a media fragment naming the picture
the face is in: `PATH#sha256=HEX` a photo whose content has that SHA-256, `PATH#t=12.345&sha256=HEX` a video's frame
at 12.345 s (W3C media-fragment time). Other `&`-separated parts belong to whoever wrote the source (a photo
library names its face: `&face12`) and are ignored here. A fragment source's face is the one found again at the
sample's stored box, and only while the file there still has that content (a photo replaced by another at the same
path is not where the face is any more).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceatlas.errors import FaceAtlasError
from faceatlas.io.files import sha256_file
from faceatlas.io.video import still


def fragment_parts(source: str) -> tuple[str, dict[str, str]] | None:
    """The path and the fragment's `key=value` parts (a bare part maps to ""), or None for a plain source."""
    path, hash_sign, fragment = source.rpartition("#")  # a path may hold a "#" too; the fragment never does
    if not hash_sign:
        return None
    return path, dict(part.partition("=")[::2] for part in fragment.split("&"))


def fragment_image(source: str) -> np.ndarray | None:
    """The photo or video frame (BGR) a fragment source names; None for a plain source, or when the file is gone,
    holds other content now, or cannot be read."""
    parsed = fragment_parts(source)
    if parsed is None or not Path(parsed[0]).is_file():
        return None
    path, parts = parsed
    try:
        if "sha256" in parts and sha256_file(path) != parts["sha256"]:
            return None
        return still(path, round(float(parts["t"]) * 1000) if "t" in parts else None)
    except (FaceAtlasError, ValueError, OSError):
        return None
