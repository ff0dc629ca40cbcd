"""Verification pair lists: the LFW `pairs.txt` formats (View 1 and View 2) or a CSV with `a,b,same[,fold]`."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Pair:
    """Two image paths (relative to an image folder, or absolute), whether they show one person, and a fold."""

    a: str
    b: str
    same: bool
    fold: int


def read_pairs(path: Path, folds: int = 10) -> list[Pair]:
    """Pairs from an LFW pairs file or a CSV.

    LFW View 2 (`pairs.txt`, header `10<TAB>300`) keeps its own folds: each fold lists its matched pairs, then its
    mismatched ones. Other lists (LFW View 1 with a one-number header, or a CSV without a `fold` column) are split
    into `folds` folds, matched and mismatched pairs separately and round-robin, so every fold has both kinds when
    there are at least `folds` of each.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path, folds)
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path}: empty pairs file")
    header = lines[0].split()
    parsed = [_lfw_pair(line, path) for line in lines[1:]]
    if len(header) == 2:
        fold_count, per_kind = int(header[0]), int(header[1])
        if len(parsed) != fold_count * per_kind * 2:
            raise ValueError(f"{path}: the header promises {fold_count} folds of {2 * per_kind} pairs, "
                             f"the file has {len(parsed)}")
        return [Pair(a, b, same, i // (2 * per_kind)) for i, (a, b, same) in enumerate(parsed)]
    return _assign_folds(parsed, folds)


def _lfw_pair(line: str, path: Path) -> tuple[str, str, bool]:
    parts = line.split()
    if len(parts) == 3:
        name, i, j = parts
        return f"{name}/{name}_{int(i):04d}.jpg", f"{name}/{name}_{int(j):04d}.jpg", True
    if len(parts) == 4:
        a, i, b, j = parts
        return f"{a}/{a}_{int(i):04d}.jpg", f"{b}/{b}_{int(j):04d}.jpg", False
    raise ValueError(f"{path}: not an LFW pair line: {line!r}")


def _read_csv(path: Path, folds: int) -> list[Pair]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"a", "b", "same"} <= set(rows[0]):
        raise ValueError(f"{path}: a pairs CSV needs the columns a, b, same (and optionally fold)")
    truthy = {"1", "true", "yes", "same"}
    parsed = [(row["a"], row["b"], row["same"].strip().lower() in truthy) for row in rows]
    if "fold" in rows[0]:
        return [Pair(a, b, same, int(row["fold"])) for (a, b, same), row in zip(parsed, rows, strict=True)]
    return _assign_folds(parsed, folds)


def _assign_folds(parsed: list[tuple[str, str, bool]], folds: int) -> list[Pair]:
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    seen = {True: 0, False: 0}
    pairs = []
    for a, b, same in parsed:
        pairs.append(Pair(a, b, same, seen[same] % folds))
        seen[same] += 1
    return pairs


def score_pairs(pairs: list[Pair], index: dict[str, int], embeddings: np.ndarray, found: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """Cosine score (float64) and same-person flag per pair, and how many pairs have an image without a face: those
    score -1, a rejection (an error for a matched pair). `index` maps a pair's image names to embedding rows."""
    a = np.array([index[p.a] for p in pairs])
    b = np.array([index[p.b] for p in pairs])
    scores = np.einsum("nd,nd->n", embeddings[a], embeddings[b]).astype(np.float64)
    missing = ~(found[a] & found[b])
    scores[missing] = -1.0
    return scores, np.array([p.same for p in pairs]), int(missing.sum())
