"""Embed a list of images with one face each (the face nearest the centre), recording every failure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceatlas import __version__
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


def analyzer_signature(analyzer: FaceAnalyzer) -> str:
    """A digest of everything that decides an embedding: models (with their sha256), refiner, flip, options."""
    parts = [analyzer.detector_card, analyzer.recogniser_card, analyzer.refiner_card]
    text = json.dumps([[c.id, c.sha256, c.members, c.score_weights] if c else None for c in parts]
                      + [analyzer.flip, sorted(analyzer.detector_options.items()), __version__])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def embed_centre_faces(analyzer: FaceAnalyzer, paths: list[Path],
                       on_progress: Callable[[], None] | None = None, cache_dir: Path | None = None) -> EmbeddedSet:
    """The embedding of the face nearest each image's centre (the LFW protocol).

    With `cache_dir`, results are stored per image (keyed by path, size and mtime) under the analyzer's signature,
    so a calibration and a benchmark over the same images embed them once.
    """
    cache_file = cache_dir / f"embeddings-{analyzer_signature(analyzer)}.json" if cache_dir else None
    cache: dict[str, list[float] | str] = json.loads(cache_file.read_text()) if cache_file and \
        cache_file.exists() else {}
    vectors: list[np.ndarray | None] = []
    failures: dict[str, str] = {}
    fallbacks = 0
    for path in paths:
        key = _cache_key(path)
        if key in cache:
            cached = cache[key]
            if isinstance(cached, str):
                failures[str(path)] = cached
                vectors.append(None)
            else:
                vectors.append(np.asarray(cached, np.float32))
            if on_progress is not None:
                on_progress()
            continue
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
        cache[key] = failures[str(path)] if vectors[-1] is None else vectors[-1].tolist()
        if on_progress is not None:
            on_progress()
    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache))
    dim = next((len(v) for v in vectors if v is not None), 0)
    matrix = np.stack([v if v is not None else np.zeros(dim, np.float32) for v in vectors]) if paths else \
        np.zeros((0, dim), np.float32)
    found = np.array([v is not None for v in vectors], bool)
    return EmbeddedSet(paths=list(paths), embeddings=matrix, found=found, fallbacks=fallbacks, failures=failures)


def _cache_key(path: Path) -> str:
    try:
        info = Path(path).stat()
    except OSError:
        return f"{Path(path).resolve()}|missing"
    return f"{Path(path).resolve()}|{info.st_size}|{info.st_mtime_ns}"
