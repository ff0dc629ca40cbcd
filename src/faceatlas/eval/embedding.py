"""Embed a list of images with one face each (the face nearest the centre), recording every failure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceatlas.errors import AmbiguousFaceError, FaceAtlasError, NoFaceError
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.version import __version__


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
    """The embedding of the face nearest each image's centre (the LFW protocol), through the pipeline.

    With `cache_dir`, results are stored per image (keyed by path, size and mtime) under the analyzer's signature,
    so a calibration and a benchmark over the same images embed them once.
    """
    cache_file = cache_dir / f"embeddings-{analyzer_signature(analyzer)}.json" if cache_dir else None
    cache: dict[str, list[float] | str] = json.loads(cache_file.read_text()) if cache_file and \
        cache_file.exists() else {}
    keys = [_cache_key(path) for path in paths]
    missing = [path for path, key in zip(paths, keys, strict=True) if key not in cache]
    fallbacks = 0
    for shot in analyzer.shots(missing, subject="centre"):
        path = missing[shot.index]
        if shot.error is None:
            fallbacks += bool(shot.faces.meta.get("fallback"))
            cache[_cache_key(path)] = shot.faces.embeddings[0].tolist()
        else:
            cache[_cache_key(path)] = _reason(shot.error)
        if on_progress is not None:
            on_progress()
    if on_progress is not None:
        for _ in range(len(paths) - len(missing)):
            on_progress()
    if cache_file and missing:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache))
    failures = {str(path): cache[key] for path, key in zip(paths, keys, strict=True) if isinstance(cache[key], str)}
    vectors = [None if isinstance(cache[key], str) else np.asarray(cache[key], np.float32) for key in keys]
    dim = next((len(v) for v in vectors if v is not None), 0)
    matrix = np.stack([v if v is not None else np.zeros(dim, np.float32) for v in vectors]) if paths else \
        np.zeros((0, dim), np.float32)
    found = np.array([v is not None for v in vectors], bool)
    return EmbeddedSet(paths=list(paths), embeddings=matrix, found=found, fallbacks=fallbacks, failures=failures)


def _reason(error: FaceAtlasError) -> str:
    """Why an image gave no embedding, as failures list it."""
    if isinstance(error, NoFaceError) and not isinstance(error, AmbiguousFaceError):
        return "no face found (also after the low-threshold retry)"
    return f"{type(error).__name__}: {error}"


def _cache_key(path: Path) -> str:
    try:
        info = Path(path).stat()
    except OSError:
        return f"{Path(path).resolve()}|missing"
    return f"{Path(path).resolve()}|{info.st_size}|{info.st_mtime_ns}"
