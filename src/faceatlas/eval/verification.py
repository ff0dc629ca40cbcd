"""1:1 verification metrics from pair scores: k-fold accuracy (the LFW protocol), ROC/DET, EER, TAR at FAR.

Decisions are always `score >= threshold` ("same person"), as everywhere in FaceAtlas.
"""

from __future__ import annotations

import numpy as np

from faceatlas.eval.calibration import threshold_at_fmr

DEFAULT_FARS = (1e-1, 1e-2, 1e-3, 1e-4)
RELIABLE_FALSE_MATCHES = 30
"""A TAR@FAR row resting on fewer than 30 allowed false matches is reported but flagged as not reliable."""


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """The threshold with the highest accuracy on these pairs.

    Candidates are the midpoints between neighbouring distinct scores plus one below the lowest and one above the
    highest; on a tie the lowest such threshold wins (deterministic).
    """
    scores = np.asarray(scores, np.float64)
    same = np.asarray(same, bool)
    if len(scores) == 0:
        raise ValueError("no pairs to choose a threshold on")
    ordered = np.unique(scores)
    candidates = np.concatenate([[ordered[0] - 1e-6], (ordered[1:] + ordered[:-1]) / 2, [ordered[-1] + 1e-6]])
    # accepted genuine and rejected impostor counts at every candidate, by sorting instead of a loop
    genuine = np.sort(scores[same])
    impostor = np.sort(scores[~same])
    true_accepts = len(genuine) - np.searchsorted(genuine, candidates, side="left")
    true_rejects = np.searchsorted(impostor, candidates, side="left")
    return float(candidates[int(np.argmax(true_accepts + true_rejects))])


def accuracy(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((np.asarray(scores) >= threshold) == np.asarray(same, bool)))


def kfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict:
    """Per fold: the threshold chosen on all other folds and the accuracy it gives on this fold; mean and std.

    A fold is skipped (and listed) only when the other folds hold no pairs at all.
    """
    scores, same, folds = np.asarray(scores, np.float64), np.asarray(same, bool), np.asarray(folds)
    rows = []
    for fold in np.unique(folds):
        test, train = folds == fold, folds != fold
        if not train.any():
            continue
        threshold = best_threshold(scores[train], same[train])
        rows.append({"fold": int(fold), "pairs": int(test.sum()), "genuine": int(same[test].sum()),
                     "impostor": int((~same[test]).sum()), "threshold": threshold,
                     "accuracy": accuracy(scores[test], same[test], threshold)})
    if not rows:
        raise ValueError("k-fold accuracy needs at least two folds")
    values = np.array([r["accuracy"] for r in rows])
    return {"mean": float(values.mean()), "std": float(values.std()), "folds": rows}


def roc(scores: np.ndarray, same: np.ndarray) -> dict[str, np.ndarray]:
    """FMR and TMR (= 1 - FNMR) at every distinct score used as a threshold, thresholds descending."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    genuine, impostor = np.sort(scores[same]), np.sort(scores[~same])
    thresholds = np.unique(scores)[::-1]
    tmr = (len(genuine) - np.searchsorted(genuine, thresholds, side="left")) / max(len(genuine), 1)
    fmr = (len(impostor) - np.searchsorted(impostor, thresholds, side="left")) / max(len(impostor), 1)
    return {"threshold": thresholds, "fmr": fmr, "tmr": tmr}


def equal_error_rate(scores: np.ndarray, same: np.ndarray) -> dict[str, float]:
    """The error rate where FMR equals FNMR, linearly interpolated between the two ROC points that straddle it."""
    curve = roc(scores, same)
    fnmr = 1.0 - curve["tmr"]
    difference = curve["fmr"] - fnmr  # rises from <= 0 (strict threshold) to >= 0 (lenient) as thresholds fall
    i = int(np.searchsorted(difference, 0.0, side="left"))
    if i == 0:
        return {"eer": float((curve["fmr"][0] + fnmr[0]) / 2), "threshold": float(curve["threshold"][0])}
    if i == len(difference):
        return {"eer": float((curve["fmr"][-1] + fnmr[-1]) / 2), "threshold": float(curve["threshold"][-1])}
    d0, d1 = difference[i - 1], difference[i]
    w = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    eer = (1 - w) * curve["fmr"][i - 1] + w * curve["fmr"][i]
    threshold = (1 - w) * curve["threshold"][i - 1] + w * curve["threshold"][i]
    return {"eer": float(eer), "threshold": float(threshold)}


def tar_at_far(scores: np.ndarray, same: np.ndarray, fars: tuple[float, ...] = DEFAULT_FARS) -> list[dict]:
    """TAR at each FAR the impostor count can express (at least one false match allowed), with what it rests on."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    genuine, impostor = scores[same], scores[~same]
    rows = []
    for far in fars:
        allowed = far * len(impostor)
        if allowed < 1 or len(genuine) == 0:
            continue
        threshold = threshold_at_fmr(impostor, far)
        rows.append({"far": far, "threshold": threshold, "tar": float(np.mean(genuine >= threshold)),
                     "far_measured": float(np.mean(impostor >= threshold)), "genuine_pairs": len(genuine),
                     "impostor_pairs": len(impostor), "reliable": bool(allowed >= RELIABLE_FALSE_MATCHES)})
    return rows


def score_histogram(scores: np.ndarray, same: np.ndarray, bins: int = 50) -> dict[str, list]:
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    low, high = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 1.0)
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    return {"edges": edges.round(6).tolist(), "genuine": np.histogram(scores[same], edges)[0].tolist(),
            "impostor": np.histogram(scores[~same], edges)[0].tolist()}


def thin_curve(curve: dict[str, np.ndarray], points: int = 400) -> dict[str, list[float]]:
    """At most `points` ROC points spread evenly in log-FMR (for JSON and plots), always keeping both ends."""
    fmr = curve["fmr"]
    if len(fmr) <= points:
        keep = np.arange(len(fmr))
    else:
        targets = np.logspace(np.log10(max(fmr[fmr > 0].min(), 1e-12)) if (fmr > 0).any() else -12, 0, points)
        keep = np.unique(np.concatenate([[0, len(fmr) - 1], np.searchsorted(fmr, targets, side="left")
                                         .clip(0, len(fmr) - 1)]))
    return {key: np.asarray(values)[keep].round(8).tolist() for key, values in curve.items()}


def verification_metrics(scores: np.ndarray, same: np.ndarray, folds: np.ndarray,
                         fars: tuple[float, ...] = DEFAULT_FARS) -> dict:
    """Everything `faceatlas eval verify` reports for one set of pair scores."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    return {
        "pairs": len(scores), "genuine_pairs": int(same.sum()), "impostor_pairs": int((~same).sum()),
        "accuracy_kfold": kfold_accuracy(scores, same, folds),
        "eer": equal_error_rate(scores, same),
        "tar_at_far": tar_at_far(scores, same, fars),
        "roc": thin_curve(roc(scores, same)),
        "histogram": score_histogram(scores, same),
    }
