"""Attribute-head metrics: age MAE overall and by age band, gender and expression accuracy with confusion matrices,
and every figure per demographic group; plus the labelled-image loaders they run on."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceatlas.eval.fairness import attribute_errors_by_group
from faceatlas.io.image import IMAGE_SUFFIXES

AGE_BANDS = ((0, 3), (3, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 60), (60, 70), (70, 200))
PATH_COLUMNS = ("path", "file", "image", "lfw_image")


@dataclass
class AttributeLabels:
    """Image paths with whichever labels the data has (None where it has none) and an optional group per image."""

    paths: list[Path]
    age: list[float | None] = field(default_factory=list)
    gender: list[str | None] = field(default_factory=list)
    expression: list[str | None] = field(default_factory=list)
    group: list[str | None] = field(default_factory=list)


def _codes(text: str | None) -> dict[str, str]:
    """"0=male,1=female" -> {"0": "male", "1": "female"}."""
    if not text:
        return {}
    return dict(part.split("=", 1) for part in text.split(","))


def load_attribute_labels(source: Path, gender_codes: str | None = None, group_column: str | None = None,
                          group_codes: str | None = None, images: Path | None = None) -> AttributeLabels:
    """Labels from a folder of class folders (expression, FER2013 style) or a CSV with a path column (path, file,
    image or lfw_image, relative to `images`, default the CSV's folder) and any of age, gender, expression; codes
    such as UTKFace's gender 0/1 are mapped with `gender_codes` ("0=male,1=female")."""
    source = Path(source)
    if source.is_dir():
        items = sorted((p, p.parent.name) for p in source.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not items:
            raise ValueError(f"{source}: no images in class folders")
        return AttributeLabels([p for p, _ in items], [None] * len(items), [None] * len(items),
                               [label for _, label in items], [None] * len(items))
    with open(source, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        path_column = next((c for c in PATH_COLUMNS if c in columns), None)
        if path_column is None:
            raise ValueError(f"{source}: needs a path column ({', '.join(PATH_COLUMNS)})")
        if group_column and group_column not in columns:
            raise ValueError(f"{source}: no group column '{group_column}'")
        rows = list(reader)
    genders, groups = _codes(gender_codes), _codes(group_codes)

    def value(row: dict, column: str, codes: dict[str, str] | None = None) -> str | None:
        text = (row.get(column) or "").strip()
        return (codes or {}).get(text, text) or None

    return AttributeLabels(
        paths=[Path(images or source.parent) / row[path_column] for row in rows],
        age=[float(row["age"]) if value(row, "age") else None for row in rows],
        gender=[value(row, "gender", genders) for row in rows],
        expression=[value(row, "expression") for row in rows],
        group=[value(row, group_column, groups) if group_column else None for row in rows],
    )


def confusion(truth: list[str], predicted: list[str], labels: list[str]) -> list[list[int]]:
    """Rows: true class, columns: predicted class, in `labels` order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), int)
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t], index[p]] += 1
    return matrix.tolist()


def age_metrics(truth: np.ndarray, predicted: np.ndarray, spread: np.ndarray,
                interval: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """MAE overall and per age band, with the head's mean reported spread per band (its own uncertainty) and, given
    the head's interval (low, high), how often it holds the true age."""
    error = np.abs(predicted - truth)
    inside = None if interval is None else (truth >= interval[0]) & (truth <= interval[1])
    bands = []
    for low, high in AGE_BANDS:
        member = (truth >= low) & (truth < high)
        bands.append({"from": low, "to": None if high >= 200 else high, "faces": int(member.sum()),
                      "mae": float(error[member].mean()) if member.any() else None,
                      "mean_age_std": float(spread[member].mean()) if member.any() else None,
                      "bias": float((predicted - truth)[member].mean()) if member.any() else None,
                      "interval_coverage": float(inside[member].mean()) if inside is not None and member.any()
                      else None})
    return {"faces": len(truth), "mae": float(error.mean()) if len(error) else None,
            "spread_error_correlation": float(np.corrcoef(spread, error)[0, 1]) if len(error) > 2 else None,
            "interval_coverage": float(inside.mean()) if inside is not None and len(inside) else None,
            "by_band": bands}


def class_metrics(truth: list[str], predicted: list[str], labels: list[str]) -> dict:
    right = [t == p for t, p in zip(truth, predicted, strict=True)]
    per_class = {label: float(np.mean([r for r, t in zip(right, truth, strict=True) if t == label]))
                 for label in labels if label in truth}
    return {"faces": len(truth), "accuracy": float(np.mean(right)) if right else None, "labels": labels,
            "per_class_accuracy": per_class, "confusion": confusion(truth, predicted, labels)}


def by_group(truth: list, predicted: list, groups: list[str | None], kind: str) -> dict | None:
    keep = [i for i, g in enumerate(groups) if g is not None]
    if not keep:
        return None
    return attribute_errors_by_group(np.asarray([predicted[i] for i in keep]), np.asarray([truth[i] for i in keep]),
                                     np.asarray([groups[i] for i in keep]), kind)


def calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error of a classifier's stated confidence (the winning class's probability) and the
    reliability diagram's bins: over equal-width confidence bins, the face-weighted gap between mean confidence and
    accuracy."""
    confidence, right = np.asarray(confidence, float), np.asarray(right, bool)
    low = min(0.5, float(confidence.min())) if len(confidence) else 0.5
    edges = np.linspace(low, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    rows, gap = [], 0.0
    for b in range(bins):
        member = which == b
        if member.any():
            stated, actual = float(confidence[member].mean()), float(right[member].mean())
            gap += member.sum() * abs(stated - actual)
            rows.append({"from": round(float(edges[b]), 3), "to": round(float(edges[b + 1]), 3),
                         "faces": int(member.sum()), "confidence": round(stated, 4), "accuracy": round(actual, 4)})
    return {"ece": round(gap / max(len(confidence), 1), 4), "reliability": rows}
