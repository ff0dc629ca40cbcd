"""Embed a list of images with one face each (the face nearest the centre), recording every failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceatlas.errors import FaceAtlasError
from faceatlas.io.image import load_image
from faceatlas.pipeline import FaceAnalyzer


@dataclass
class EmbeddedSet:
    """Embeddings for the images that yielded a face; `failures` maps the others to the reason."""

    paths: list[Path]
    embeddings: np.ndarray  # (len(paths), D), rows of failed images are zero
    found: np.ndarray  # (len(paths),) bool
    fallbacks: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def embed_centre_faces(analyzer: FaceAnalyzer, paths: list[Path],
                       on_progress: Callable[[], None] | None = None) -> EmbeddedSet:
    """The embedding of the face nearest each image's centre (the LFW protocol)."""
    vectors: list[np.ndarray | None] = []
    failures: dict[str, str] = {}
    fallbacks = 0
    for path in paths:
        try:
            image = load_image(path)
            faces = analyzer.detect(image.bgr).nearest_to_centre()
            if len(faces) == 0:
                failures[str(path)] = "no face found (also after the low-threshold retry)"
                vectors.append(None)
            else:
                fallbacks += bool(faces.meta.get("fallback"))
                embedded = analyzer.embed(image.bgr, faces)
                assert embedded.embeddings is not None
                vectors.append(embedded.embeddings[0])
        except FaceAtlasError as error:
            failures[str(path)] = f"{type(error).__name__}: {error}"
            vectors.append(None)
        if on_progress is not None:
            on_progress()
    dim = next((len(v) for v in vectors if v is not None), 0)
    matrix = np.stack([v if v is not None else np.zeros(dim, np.float32) for v in vectors]) if paths else \
        np.zeros((0, dim), np.float32)
    found = np.array([v is not None for v in vectors], bool)
    return EmbeddedSet(paths=list(paths), embeddings=matrix, found=found, fallbacks=fallbacks, failures=failures)
