"""Face-quality evaluation: recognisability targets from genuine-pair similarities (as in CR-FIQA) and the
error-versus-reject curve (ERC): FNMR at a fixed threshold as the lowest-quality fraction of images is rejected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from faceatlas.eval.calibration import all_pairs
from faceatlas.io.image import ImageSource
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.quality.features import FEATURES, quality_features
from faceatlas.quality.model import expand

REJECT_FRACTIONS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass
class QualitySamples:
    """Per picture (the face nearest the centre): quality signals, embedding and its norm before normalisation, and
    whether a face was found."""

    features: np.ndarray  # (N, F) `quality.features`, rows of pictures without a face are zero
    norms: np.ndarray  # (N,) the recogniser's output norms (0 without a face)
    embeddings: np.ndarray  # (N, D)
    found: np.ndarray  # (N,) bool


def collect(analyzer: FaceAnalyzer, sources: list[ImageSource], on_progress: Callable[[], None] | None = None
            ) -> QualitySamples:
    """Per picture, through the pipeline: the quality signals, embedding and norm of the face nearest the centre."""
    width, dim = len(FEATURES), analyzer.recogniser.dim
    features = np.zeros((len(sources), width), np.float32)
    norms = np.zeros(len(sources), np.float32)
    vectors = np.zeros((len(sources), dim), np.float32)
    found = np.zeros(len(sources), bool)
    for shot in analyzer.shots(sources, subject="centre", folders=False):
        if shot.error is None:
            found[shot.index] = True
            features[shot.index] = quality_features(shot.image, shot.faces)[0]
            vectors[shot.index] = shot.faces.embeddings[0]
            if shot.faces.embedding_norms is not None:
                norms[shot.index] = shot.faces.embedding_norms[0]
        if on_progress is not None:
            on_progress()
    if not found.any():
        raise ValueError("no face found in any of the images")
    return QualitySamples(features, norms, vectors, found)


def match_outcomes(embeddings: np.ndarray, people: list[str], photos: list[str], reference: np.ndarray,
                   threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The training target of the quality head: for each picture i and each `reference` picture j of the same person
    from another photo, whether they match (similarity >= `threshold`); as (i, matched) arrays, one row per pair."""
    similarity = embeddings @ embeddings.T
    person, photo = np.asarray(people), np.asarray(photos)
    pairs = (person[:, None] == person[None, :]) & (photo[:, None] != photo[None, :]) & reference[None, :]
    first, second = np.nonzero(pairs)
    return first, similarity[first, second] >= threshold


def area_under(rows: list[dict]) -> float:
    """The area under an error-versus-reject curve (FNMR over the rejected fraction): lower is better."""
    x = np.array([row["rejected_fraction"] for row in rows])
    y = np.array([row["fnmr"] for row in rows], float)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


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
                        fractions: tuple[float, ...] = REJECT_FRACTIONS, photos: list[str] | None = None
                        ) -> list[dict]:
    """FNMR and FMR over all pairs of the images kept after rejecting the lowest-quality `fraction` of images
    (ties broken by image order), at a fixed decision threshold; with `photos`, two pictures made from one photo
    (a degraded copy and its original) are not a pair."""
    first, second, scores, same = all_pairs(embeddings, labels)
    if photos is not None:
        photo = np.unique(np.asarray(photos), return_inverse=True)[1]
        other = photo[first] != photo[second]
        first, second, scores, same = first[other], second[other], scores[other], same[other]
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


def fit_quality_model(inputs: np.ndarray, rows: np.ndarray, matched: np.ndarray, names: list[str]) -> dict:
    """A logistic model of `matched` (per pair, of picture `rows`) from the pictures' signals `inputs` (columns
    `names`) and their squares, standardised, with cross-validated L2 regularisation: `quality.model`'s data."""
    from sklearn.linear_model import LogisticRegressionCV

    expanded = expand(inputs)
    mean, std = expanded.mean(axis=0), expanded.std(axis=0) + 1e-9
    model = LogisticRegressionCV(Cs=10, max_iter=5000).fit(((expanded - mean) / std)[rows], matched)
    return {"features": names, "mean": mean.round(6).tolist(), "std": std.round(6).tolist(),
            "coefficients": model.coef_[0].round(6).tolist(), "intercept": round(float(model.intercept_[0]), 6),
            "C": float(np.ravel(model.C_)[0]), "pairs": len(rows), "matched": round(float(np.mean(matched)), 4)}
