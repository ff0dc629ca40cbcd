"""Demographic differentials of verification errors (NIST FRTE style): FMR and FNMR per group at global thresholds.

Pairs are assigned to a group when both images belong to it (a genuine pair always does: one person, one group);
impostor pairs across two groups form the "(cross-group)" row and take no part in the ratios. The ratio at a
threshold is the largest over the smallest per-group rate among groups with pairs; when the smallest is zero, it is
reported as null with the rates themselves.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from faceatlas.eval.verification import roc, thin_curve

CROSS = "(cross-group)"
KEY_COLUMNS = ("identity", "path", "image", "lfw_image")


def load_groups(source: Path, group_column: str = "group", key_column: str | None = None) -> tuple[dict[str, str], str]:
    """{key: group} from a CSV and which column the keys came from (an identity or an image path)."""
    with open(source, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        key = key_column or next((c for c in KEY_COLUMNS if c in columns), None)
        if key is None or key not in columns or group_column not in columns:
            raise ValueError(f"{source}: needs a group column '{group_column}' and a key column "
                             f"({key_column or ' or '.join(KEY_COLUMNS)}); it has {', '.join(columns)}")
        groups = {row[key]: row[group_column].strip() for row in reader if row[group_column].strip()}
    return groups, key


def groups_by_identity(image_groups: dict[str, str], identity_of: dict[str, str]) -> tuple[dict[str, str], int]:
    """Spread image labels to identities by majority; also the number of identities whose images disagree."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for image, group in image_groups.items():
        if image in identity_of:
            votes[identity_of[image]][group] += 1
    conflicts = sum(len(counter) > 1 for counter in votes.values())
    return {identity: counter.most_common(1)[0][0] for identity, counter in votes.items()}, conflicts


CROSS_CODE, UNKNOWN_CODE = -1, -2


def pair_groups(codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """The group code of each pair from its images' codes (>= 0 known, UNKNOWN_CODE not labelled): the shared code,
    CROSS_CODE when the two differ, UNKNOWN_CODE when either image is unlabelled."""
    codes_a, codes_b = np.asarray(codes_a), np.asarray(codes_b)
    out = np.where(codes_a == codes_b, codes_a, CROSS_CODE)
    out[(codes_a == UNKNOWN_CODE) | (codes_b == UNKNOWN_CODE)] = UNKNOWN_CODE
    return out


def fairness_metrics(scores: np.ndarray, same: np.ndarray, pair_group: np.ndarray, names: list[str],
                     thresholds: list[dict]) -> dict:
    """Per group and threshold: FMR, FNMR and the pair counts they rest on; max/min ratios across groups.

    `pair_group` holds a code per pair (an index into `names`, CROSS_CODE or UNKNOWN_CODE); every name is reported,
    an empty group with null rates. `thresholds` rows carry `threshold` and `fmr` (the global FMR it stands for).
    """
    scores, same, pair_group = np.asarray(scores, np.float64), np.asarray(same, bool), np.asarray(pair_group)
    rows = []
    for code, name in [*enumerate(names), (CROSS_CODE, CROSS)]:
        member = pair_group == code
        genuine, impostor = scores[member & same], scores[member & ~same]
        if code == CROSS_CODE and len(impostor) == 0:
            continue
        rows.append({
            "group": name, "genuine_pairs": len(genuine), "impostor_pairs": len(impostor),
            "at_threshold": [{"fmr_target": t["fmr"], "threshold": t["threshold"],
                              "fmr": float(np.mean(impostor >= t["threshold"])) if len(impostor) else None,
                              "fnmr": float(np.mean(genuine < t["threshold"])) if len(genuine) else None}
                             for t in thresholds],
            "roc": thin_curve(roc(scores[member], same[member]), 200) if len(genuine) and len(impostor) else None,
        })
    ratios = []
    for i, t in enumerate(thresholds):
        ratio_row = {"fmr_target": t["fmr"], "threshold": t["threshold"]}
        for rate in ("fmr", "fnmr"):
            values = [r["at_threshold"][i][rate] for r in rows if r["group"] != CROSS
                      and r["at_threshold"][i][rate] is not None]
            ratio_row[f"{rate}_max_min_ratio"] = (max(values) / min(values)) if values and min(values) > 0 else None
            ratio_row[f"{rate}_min"], ratio_row[f"{rate}_max"] = (min(values), max(values)) if values else (None, None)
        ratios.append(ratio_row)
    return {"groups": rows, "ratios": ratios, "unlabelled_pairs": int((pair_group == UNKNOWN_CODE).sum())}


def attribute_errors_by_group(predicted: np.ndarray, truth: np.ndarray, groups: np.ndarray,
                              kind: str = "accuracy") -> dict:
    """Per group: accuracy (class labels) or mean absolute error (numbers such as age) of an attribute head, with
    the count it rests on, and the worst/best ratio across groups (error rate for accuracy, MAE for regression)."""
    if kind not in {"accuracy", "mae"}:
        raise ValueError(f"kind must be 'accuracy' or 'mae', not {kind!r}")
    predicted, truth, groups = np.asarray(predicted), np.asarray(truth), np.asarray(groups)
    rows = []
    for name in sorted(set(groups.tolist())):
        member = groups == name
        if kind == "accuracy":
            value = float(np.mean(predicted[member] == truth[member]))
            error = 1.0 - value
        else:
            value = error = float(np.mean(np.abs(predicted[member].astype(float) - truth[member].astype(float))))
        rows.append({"group": name, "count": int(member.sum()), kind: value, "error": error})
    errors = [r["error"] for r in rows]
    ratio = max(errors) / min(errors) if errors and min(errors) > 0 else None
    return {"kind": kind, "groups": rows, "worst_best_error_ratio": ratio}
