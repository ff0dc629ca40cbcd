"""Face-quality evaluation: recognisability targets from genuine-pair similarities (as in CR-FIQA) and the
error-versus-reject curve (ERC): FNMR at a fixed threshold as the lowest-quality fraction of images is rejected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceatlas.eval.calibration import all_pairs
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.quality.features import quality_features

REJECT_FRACTIONS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass
class QualitySamples:
    """Per image (the face nearest the centre): quality features, embedding, and whether a face was found."""

    features: np.ndarray  # (N, F), rows of images without a face are zero
    embeddings: np.ndarray  # (N, D)
    found: np.ndarray  # (N,) bool


def collect(analyzer: FaceAnalyzer, paths: list[Path], on_progress: Callable[[], None] | None = None
            ) -> QualitySamples:
    """Per image, through the pipeline: the quality signals and the embedding of the face nearest the centre."""
    features, vectors = [], []
    for shot in analyzer.shots(paths, subject="centre", folders=False):
        found = shot.error is None
        features.append(quality_features(shot.image, shot.faces)[0] if found else None)
        vectors.append(shot.faces.embeddings[0] if found else None)
        if on_progress is not None:
            on_progress()
    found = np.array([v is not None for v in vectors], bool)
    if not found.any():
        raise ValueError("no face found in any of the images")
    width, dim = len(next(f for f in features if f is not None)), len(next(v for v in vectors if v is not None))
    return QualitySamples(np.stack([f if f is not None else np.zeros(width, np.float32) for f in features]),
                          np.stack([v if v is not None else np.zeros(dim, np.float32) for v in vectors]), found)


def recognisability(embeddings: np.ndarray, labels: list[str]) -> np.ndarray:
    """Per image: mean cosine to the other images of its person (NaN for a person with one image)."""
    similarity = embeddings @ embeddings.T
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    same = codes[:, None] == codes[None, :]
    np.fill_diagonal(same, False)
    counts = same.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, (similarity * same).sum(axis=1) / counts, np.nan)


def error_versus_reject(embeddings: np.ndarray, labels: list[str], quality: np.ndarray, threshold: float,
                        fractions: tuple[float, ...] = REJECT_FRACTIONS) -> list[dict]:
    """FNMR and FMR over all pairs of the images kept after rejecting the lowest-quality `fraction` of images
    (ties broken by image order), at a fixed decision threshold."""
    first, second, scores, same = all_pairs(embeddings, labels)
    order = np.argsort(quality, kind="stable")
    rows = []
    for fraction in fractions:
        kept = np.ones(len(labels), bool)
        kept[order[: round(fraction * len(labels))]] = False
        pair_kept = kept[first] & kept[second]
        genuine, impostor = scores[pair_kept & same], scores[pair_kept & ~same]
        rows.append({"rejected_fraction": fraction, "genuine_pairs": len(genuine), "impostor_pairs": len(impostor),
                     "fnmr": float(np.mean(genuine < threshold)) if len(genuine) else None,
                     "fmr": float(np.mean(impostor >= threshold)) if len(impostor) else None})
    return rows
