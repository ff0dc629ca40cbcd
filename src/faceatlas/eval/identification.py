"""1:N identification: the gallery/probe split, closed-set CMC and rank-1, open-set FNIR at FPIR (NIST FRTE terms).

Person-level scores: a probe's score for a gallery identity is its highest cosine over that identity's samples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

DEFAULT_FPIRS = (1e-1, 1e-2, 1e-3)
RELIABLE_FALSE_POSITIVES = 30
"""An FNIR@FPIR row resting on fewer than 30 allowed false positives is reported but flagged as not reliable."""


@dataclass(frozen=True)
class Split:
    """Image paths with identities: enrolled gallery, mated probes (their identity is enrolled), distractors."""

    gallery: list[tuple[str, str]]
    probes: list[tuple[str, str]]
    distractors: list[tuple[str, str]]


def split_identities(items: list[tuple[str, str]]) -> Split:
    """The LFW 1:N split: for every identity with two or more images, its first image (sorted by path) is enrolled
    and the others are mated probes; identities with a single image become distractors (non-mated probes)."""
    by_identity: dict[str, list[str]] = defaultdict(list)
    for path, identity in items:
        by_identity[identity].append(str(path))
    gallery, probes, distractors = [], [], []
    for identity in sorted(by_identity):
        paths = sorted(by_identity[identity])
        if len(paths) == 1:
            distractors.append((paths[0], identity))
        else:
            gallery.append((paths[0], identity))
            probes.extend((p, identity) for p in paths[1:])
    return Split(gallery, probes, distractors)


def identity_scores(probe_vectors: np.ndarray, gallery_vectors: np.ndarray, gallery_labels: list[str]
                    ) -> tuple[np.ndarray, list[str]]:
    """(probes, identities) matrix of the best cosine per gallery identity, and the identity order."""
    identities = sorted(set(gallery_labels))
    column = {name: i for i, name in enumerate(identities)}
    codes = np.array([column[label] for label in gallery_labels])
    similarity = probe_vectors @ gallery_vectors.T
    scores = np.full((len(probe_vectors), len(identities)), -np.inf)
    for code in range(len(identities)):
        scores[:, code] = similarity[:, codes == code].max(axis=1)
    return scores, identities


def mate_ranks(scores: np.ndarray, identities: list[str], probe_labels: list[str]) -> np.ndarray:
    """Rank of each mated probe's true identity (1 = best); ties count against the probe (pessimistic)."""
    column = {name: i for i, name in enumerate(identities)}
    mate = np.array([column[label] for label in probe_labels])
    mate_score = scores[np.arange(len(mate)), mate]
    return (scores >= mate_score[:, None]).sum(axis=1)


def cmc(ranks: np.ndarray, max_rank: int = 20) -> list[float]:
    """Fraction of mated probes whose identity is within rank r, for r = 1 ... max_rank."""
    ranks = np.asarray(ranks)
    if len(ranks) == 0:
        return []
    return [float(np.mean(ranks <= r)) for r in range(1, max_rank + 1)]


def fnir_at_fpir(mated_scores: np.ndarray, mated_ranks: np.ndarray, nonmated_top: np.ndarray,
                 fpirs: tuple[float, ...] = DEFAULT_FPIRS) -> list[dict]:
    """Open-set rates at rank 1. FPIR: fraction of non-mated searches whose top score >= t. FNIR: fraction of mated
    searches whose mate is not the rank-1 candidate with a score >= t. A row needs at least one allowed false
    positive (fpir * non-mated searches >= 1)."""
    nonmated_top = np.sort(np.asarray(nonmated_top, np.float64))[::-1]
    hit = (np.asarray(mated_ranks) == 1)
    rows = []
    for fpir in fpirs:
        allowed = int(np.floor(fpir * len(nonmated_top)))
        if allowed < 1 or len(mated_scores) == 0:
            continue
        threshold = float(np.nextafter(nonmated_top[allowed], np.inf)) if allowed < len(nonmated_top) else \
            float(nonmated_top[-1])
        fnir = float(np.mean(~(hit & (np.asarray(mated_scores) >= threshold))))
        rows.append({"fpir": fpir, "threshold": threshold, "fnir": fnir,
                     "fpir_measured": float(np.mean(nonmated_top >= threshold)),
                     "nonmated_searches": len(nonmated_top), "mated_searches": len(mated_scores),
                     "false_positives_allowed": allowed, "reliable": allowed >= RELIABLE_FALSE_POSITIVES})
    return rows


def identification_metrics(gallery_vectors: np.ndarray, gallery_labels: list[str], probe_vectors: np.ndarray,
                           probe_labels: list[str], distractor_vectors: np.ndarray, max_rank: int = 20,
                           fpirs: tuple[float, ...] = DEFAULT_FPIRS) -> dict:
    """Closed-set CMC over the mated probes; open-set FNIR at FPIR with the distractors as non-mated searches."""
    scores, identities = identity_scores(probe_vectors, gallery_vectors, gallery_labels)
    ranks = mate_ranks(scores, identities, probe_labels)
    column = {name: i for i, name in enumerate(identities)}
    mated_scores = scores[np.arange(len(ranks)), [column[label] for label in probe_labels]]
    nonmated, _ = identity_scores(distractor_vectors, gallery_vectors, gallery_labels)
    nonmated_top = nonmated.max(axis=1) if len(distractor_vectors) else np.zeros(0)
    curve = cmc(ranks, min(max_rank, len(identities)))
    return {
        "gallery_identities": len(identities), "gallery_images": len(gallery_labels),
        "mated_probes": len(probe_labels), "nonmated_probes": len(nonmated_top),
        "rank1": curve[0] if curve else None,
        "cmc": curve,
        "fnir_at_fpir": fnir_at_fpir(mated_scores, ranks, nonmated_top, fpirs),
    }
