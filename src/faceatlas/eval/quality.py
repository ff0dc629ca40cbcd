"""Face-quality evaluation: recognisability targets from genuine-pair similarities (as in CR-FIQA) and the
error-versus-reject curve (ERC): FNMR at a fixed threshold as the lowest-quality fraction of images is rejected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceatlas.errors import FaceAtlasError
from faceatlas.eval.embedding import embed_centre_faces
from faceatlas.io.image import load_image
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.quality.features import quality_features

REJECT_FRACTIONS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass
class QualitySamples:
    """Per image (the face nearest the centre): quality features, embedding, and whether a face was found."""

    features: np.ndarray  # (N, F), rows of images without a face are zero
    embeddings: np.ndarray  # (N, D)
    found: np.ndarray  # (N,) bool


def collect(analyzer: FaceAnalyzer, paths: list[Path], cache: Path | None = None,
            on_progress: Callable[[], None] | None = None) -> QualitySamples:
    embedded = embed_centre_faces(analyzer, paths, cache_dir=cache)
    rows = []
    for path, ok in zip(paths, embedded.found, strict=True):
        features = None
        if ok:
            try:
                bgr = load_image(path).bgr
                faces = analyzer.detect(bgr).nearest_to_centre()
                features = quality_features(bgr, faces)[0] if len(faces) else None
            except FaceAtlasError:
                features = None
        rows.append(features)
        if on_progress is not None:
            on_progress()
    width = next((len(r) for r in rows if r is not None), 0)
    matrix = np.stack([r if r is not None else np.zeros(width, np.float32) for r in rows])
    found = embedded.found & np.array([r is not None for r in rows])
    return QualitySamples(matrix, embedded.embeddings, found)


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
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    order = np.argsort(quality, kind="stable")
    upper = np.triu_indices(len(codes), k=1)
    scores = np.einsum("nd,nd->n", embeddings[upper[0]], embeddings[upper[1]])
    same = codes[upper[0]] == codes[upper[1]]
    rows = []
    for fraction in fractions:
        kept = np.ones(len(codes), bool)
        kept[order[: round(fraction * len(codes))]] = False
        pair_kept = kept[upper[0]] & kept[upper[1]]
        genuine, impostor = scores[pair_kept & same], scores[pair_kept & ~same]
        rows.append({"rejected_fraction": fraction, "genuine_pairs": len(genuine), "impostor_pairs": len(impostor),
                     "fnmr": float(np.mean(genuine < threshold)) if len(genuine) else None,
                     "fmr": float(np.mean(impostor >= threshold)) if len(impostor) else None})
    return rows
