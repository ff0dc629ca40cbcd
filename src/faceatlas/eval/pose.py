"""Head-pose metrics without continuous ground truth: MTFL's five yaw bins, mirror symmetry, and agreement with a
reference estimator."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

YAW_EDGES = (11.0, 33.0)
"""Degrees of |yaw| where MTFL's bins change (frontal | left/right | profile), fitted on the LFW-MTFL labels by
`fit_yaw_edges` (`faceatlas eval pose --edges-from`), never on the test set."""

ANGLES = ("yaw", "pitch", "roll")


def yaw_bins(yaw: np.ndarray, edges: tuple[float, float] = YAW_EDGES) -> np.ndarray:
    """MTFL pose bins from yaw: 1 left profile, 2 left, 3 frontal, 4 right, 5 right profile (yaw > 0 is the face
    turned towards the image left, MTFL's "left")."""
    inner, outer = edges
    return np.select([yaw >= outer, yaw >= inner, yaw > -inner, yaw > -outer], [1, 2, 3, 4], default=5)


def fit_yaw_edges(yaw: np.ndarray, bins: np.ndarray) -> tuple[float, float]:
    """The symmetric edges (whole degrees) with the best balanced accuracy over the bins present."""
    best, chosen = -1.0, YAW_EDGES
    for inner in range(2, 45):
        for outer in range(inner + 1, 80):
            score = balanced_accuracy(yaw_bins(yaw, (inner, outer)), bins)
            if score > best:
                best, chosen = score, (float(inner), float(outer))
    return chosen


def balanced_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([np.mean(predicted[truth == b] == b) for b in np.unique(truth)]))


def bin_metrics(yaw: np.ndarray, truth: np.ndarray, edges: tuple[float, float]) -> dict:
    """Accuracy, balanced accuracy, within-one-bin accuracy, confusion (rows: true bin 1-5) and the rank
    correlation of yaw with the bins (negative: bin 1 has the largest yaw)."""
    predicted = yaw_bins(yaw, edges)
    confusion = [[int(np.sum((truth == t) & (predicted == p))) for p in range(1, 6)] for t in range(1, 6)]
    return {"faces": len(yaw), "edges_deg": list(edges), "accuracy": float(np.mean(predicted == truth)),
            "balanced_accuracy": balanced_accuracy(predicted, truth),
            "within_one_bin": float(np.mean(np.abs(predicted - truth) <= 1)), "confusion": confusion,
            "spearman_yaw_vs_bin": float(spearmanr(yaw, truth).statistic) if len(np.unique(truth)) > 1 else None,
            "median_yaw_by_bin": {str(b): float(np.median(yaw[truth == b])) for b in np.unique(truth)}}


def mirror_metrics(pose: np.ndarray, mirrored: np.ndarray) -> dict:
    """How far the pose of a horizontally flipped image is from (-yaw, pitch, -roll): mean absolute degrees."""
    expected = pose * [-1.0, 1.0, -1.0]
    error = np.abs(mirrored - expected)
    return {"faces": len(pose), **{f"{a}_mae": float(error[:, i].mean()) for i, a in enumerate(ANGLES)},
            "yaw_correlation": float(np.corrcoef(mirrored[:, 0], expected[:, 0])[0, 1]) if len(pose) > 1 else None}


def agreement_metrics(pose: np.ndarray, reference: np.ndarray) -> dict:
    """Mean absolute difference and Pearson correlation per angle against a reference estimator."""
    out: dict = {"faces": len(pose)}
    for i, angle in enumerate(ANGLES):
        out[f"{angle}_mad"] = float(np.abs(pose[:, i] - reference[:, i]).mean())
        out[f"{angle}_correlation"] = float(np.corrcoef(pose[:, i], reference[:, i])[0, 1]) if len(pose) > 1 else None
    return out
