"""Calibration: score thresholds at target false-match rates from all genuine and impostor pairs of labelled faces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceatlas.models.card import Calibration, CalibrationRow

DEFAULT_FMRS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
MIN_FALSE_MATCHES = 30
"""A row is written only when `fmr * impostor_pairs >= 30` (at least 30 false matches at its threshold, the "rule of
30"): lower FMRs are not resolvable from the data and are left out, not guessed."""


@dataclass(frozen=True)
class PairScores:
    genuine: np.ndarray
    impostor: np.ndarray


def all_pairs(embeddings: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every unordered pair of distinct images: the two row indices, the cosine score (float64) and whether the
    labels agree (genuine)."""
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    first, second = np.triu_indices(len(codes), k=1)
    scores = (embeddings @ embeddings.T)[first, second].astype(np.float64)
    return first, second, scores, codes[first] == codes[second]


def all_pair_scores(embeddings: np.ndarray, labels: list[str]) -> PairScores:
    """Cosine scores of every unordered pair of distinct images: same label -> genuine, different -> impostor."""
    _, _, scores, same = all_pairs(embeddings, labels)
    return PairScores(genuine=scores[same], impostor=scores[~same])


def threshold_at_fmr(impostor: np.ndarray, fmr: float) -> float:
    """Smallest threshold t such that the fraction of impostor scores >= t is at most `fmr`."""
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(fmr * len(ordered)))
    return float(np.nextafter(ordered[allowed], np.inf))


def fmr_interval(false_matches: int, impostors: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a false-match rate observed as `false_matches` of `impostors` pairs."""
    from scipy.stats import beta

    tail = (1 - level) / 2
    low = beta.ppf(tail, false_matches, impostors - false_matches + 1) if false_matches else 0.0
    high = beta.ppf(1 - tail, false_matches + 1, impostors - false_matches) if false_matches < impostors else 1.0
    return float(low), float(high)


def calibrate(scores: PairScores, data: str, command: str = "", fmrs: tuple[float, ...] = DEFAULT_FMRS
              ) -> Calibration:
    """The calibration table for the FMRs the impostor count can resolve."""
    impostors = len(scores.impostor)
    rows = []
    for fmr in fmrs:
        if fmr * impostors < MIN_FALSE_MATCHES:
            continue
        threshold = threshold_at_fmr(scores.impostor, fmr)
        fnmr = float(np.mean(scores.genuine < threshold)) if len(scores.genuine) else None
        low, high = fmr_interval(int(np.count_nonzero(scores.impostor >= threshold)), impostors)
        rows.append(CalibrationRow(fmr=fmr, threshold=round(threshold, 6), impostor_pairs=impostors,
                                   fnmr=None if fnmr is None else round(fnmr, 6),
                                   fmr_interval=(float(f"{low:.3g}"), float(f"{high:.3g}"))))
    if not rows:
        raise ValueError(f"{impostors} impostor pairs cannot resolve any of the FMRs {fmrs}")
    return Calibration(data=data, genuine_pairs=len(scores.genuine), impostor_pairs=impostors, rows=rows,
                       command=command)
