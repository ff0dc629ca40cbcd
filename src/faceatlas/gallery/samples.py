"""Faces on their way into a gallery, and the one check every sample passes before it is stored."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from faceatlas.errors import GalleryError

UNIT_NORM_TOLERANCE = 1e-4
"""A stored embedding's length may differ from 1 by at most this much (float32 normalisation leaves 1e-7)."""
MAX_SOURCE_CHARS = 4096
"""A sample's source (where it came from: a path or a caller's label) is at most this long."""
JPEG_START = b"\xff\xd8\xff"


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


def sample_problem(sample: NewSample, ndim: int, model_id: str) -> str | None:
    """Why `sample` may not be stored (None: it may): its embedding passes `vector_problem`, its quality is None or a
    number in [0, 1], its box four finite numbers, its source a string, its thumbnail None or JPEG bytes."""
    problem = vector_problem(sample.vector, ndim, model_id)
    if problem:
        return problem
    quality = sample.quality
    if quality is not None and not (_is_number(quality) and 0.0 <= quality <= 1.0):
        return f"a quality is a number in [0, 1] or None, not {quality!r:.40}"
    box = sample.box
    if not isinstance(box, list | tuple) or len(box) != 4 or not all(_is_number(v) for v in box):
        return f"a box is four finite numbers, not {box!r:.60}"
    if not isinstance(sample.source, str) or len(sample.source) > MAX_SOURCE_CHARS:
        return f"a source is a string of at most {MAX_SOURCE_CHARS} characters"
    if sample.thumbnail is not None and not (isinstance(sample.thumbnail, bytes)
                                             and sample.thumbnail.startswith(JPEG_START)):
        return "a thumbnail is JPEG bytes"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool) \
        and math.isfinite(value)


def checked_name(name: object) -> str:
    """`name` if it can name a person (a non-empty string of at most 500 characters), else a `GalleryError`."""
    if not isinstance(name, str) or not name.strip() or len(name) > 500:
        raise GalleryError(f"a person's name is a non-empty string of at most 500 characters, not {name!r:.60}")
    return name
