"""Faces on their way into a gallery, and the one check every embedding passes before it is stored."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceatlas.errors import GalleryError

UNIT_NORM_TOLERANCE = 1e-4
"""A stored embedding's length may differ from 1 by at most this much (float32 normalisation leaves 1e-7)."""


@dataclass
class NewSample:
    """A face on its way into the database."""

    vector: np.ndarray
    quality: float | None
    box: list[float]
    source: str
    thumbnail: bytes | None = None


def vector_problem(vector: object, ndim: int, model_id: str) -> str | None:
    """Why `vector` may not be stored in a collection of `model_id`'s `ndim`-d embeddings (None: it may): it must
    be a real floating-point vector of that dimension, finite and of unit length. A vector that is not of unit
    length scores above every honest face against every probe: one would take over identification."""
    vector = np.asarray(vector)
    if vector.dtype.kind != "f":
        return f"an embedding must be floating point, not {vector.dtype}"
    if vector.shape != (ndim,):
        return f"an embedding of '{model_id}' has {ndim} dimensions, not shape {vector.shape}"
    if not np.all(np.isfinite(vector)):
        return "an embedding must be finite (NaN or infinity found)"
    norm = float(np.linalg.norm(vector.astype(np.float64)))
    if abs(norm - 1.0) > UNIT_NORM_TOLERANCE:
        return f"an embedding must have unit length, not {norm:.6g}"
    return None


def checked_name(name: object) -> str:
    """`name` if it can name a person (a non-empty string of at most 500 characters), else a `GalleryError`."""
    if not isinstance(name, str) or not name.strip() or len(name) > 500:
        raise GalleryError(f"a person's name is a non-empty string of at most 500 characters, not {name!r:.60}")
    return name
