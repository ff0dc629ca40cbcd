"""Embed a list of images with one face each (the face nearest the centre), recording every failure; each face's
quality score and box come along (the quality head is cheap beside the recogniser, and shares its aligned crop)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from faceatlas.errors import AmbiguousFaceError, FaceAtlasError, NoFaceError
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.quality.model import MODEL_NAME
from faceatlas.version import __version__


@dataclass
class EmbeddedSet:
    """Embeddings for the images that yielded a face; `failures` maps the others to the reason."""

    paths: list[Path]
    embeddings: np.ndarray  # (len(paths), D), rows of failed images are zero
    found: np.ndarray  # (len(paths),) bool
    quality: np.ndarray  # (len(paths),) the quality head's score; NaN where no face was found
    boxes: np.ndarray  # (len(paths), 4) xyxy; NaN where no face was found
    fallbacks: int = 0
    failures: dict[str, str] = field(default_factory=dict)

CACHE_FORMAT = 2
"""Bumped whenever what a cache entry holds changes (2: embedding, quality and box)."""


def analyzer_signature(analyzer: FaceAnalyzer) -> str:
    """A digest of everything that decides an embedding and its quality: models (with their sha256), refiner and
    what it confirms, flip, options, the quality model's parameters."""
    parts = [analyzer.detector_card, analyzer.recogniser_card, analyzer.refiner_card]
    quality_model = hashlib.sha256(resources.files("faceatlas.quality").joinpath(MODEL_NAME).read_bytes())
    text = json.dumps([[c.id, c.sha256, c.members, c.score_weights] if c else None for c in parts]
                      + [analyzer.flip, sorted(analyzer.detector_options.items()), __version__, CACHE_FORMAT,
                         analyzer.confirm_below, quality_model.hexdigest()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def embed_centre_faces(analyzer: FaceAnalyzer, paths: list[Path],
                       on_progress: Callable[[], None] | None = None, cache_dir: Path | None = None) -> EmbeddedSet:
    """The embedding of the face nearest each image's centre (the LFW protocol), through the pipeline.

    With `cache_dir`, results are stored per image (keyed by path, size and mtime) under the analyzer's signature,
    so a calibration and a benchmark over the same images embed them once.
    """
    analyzer.require_licences()  # cached embeddings of a restricted model are its results too
    cache_file = cache_dir / f"embeddings-{analyzer_signature(analyzer)}.json" if cache_dir else None
    cache: dict[str, dict | str] = json.loads(cache_file.read_text()) if cache_file and cache_file.exists() else {}
    keys = [_cache_key(path) for path in paths]
    missing = [path for path, key in zip(paths, keys, strict=True) if key not in cache]
    fallbacks = 0
    for shot in analyzer.with_heads("quality").shots(missing, subject="centre", folders=False):
        path = missing[shot.index]
        if shot.error is None:
            fallbacks += bool(shot.faces.meta.get("fallback"))
            cache[_cache_key(path)] = {"embedding": shot.faces.embeddings[0].tolist(),
                                       "quality": float(shot.faces.quality[0]), "box": shot.faces.boxes[0].tolist()}
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
    entries = [cache[key] for key in keys]
    failures = {str(path): entry for path, entry in zip(paths, entries, strict=True) if isinstance(entry, str)}
    found = np.array([not isinstance(entry, str) for entry in entries], bool)
    dim = next((len(entry["embedding"]) for entry in entries if not isinstance(entry, str)), 0)
    matrix = np.zeros((len(paths), dim), np.float32)
    quality, boxes = np.full(len(paths), np.nan), np.full((len(paths), 4), np.nan)
    for row in np.flatnonzero(found):
        matrix[row], quality[row], boxes[row] = (entries[row][name] for name in ("embedding", "quality", "box"))
    return EmbeddedSet(paths=list(paths), embeddings=matrix, found=found, quality=quality, boxes=boxes,
                       fallbacks=fallbacks, failures=failures)


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
