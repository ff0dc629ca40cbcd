"""Detection metrics: greedy IoU matching, AP (VOC all-point interpolation), recall by face size, false positives.

Ground truth comes from a CSV (`image,xmin,ymin,xmax,ymax`, one row per face) or a folder of Pascal VOC XML files.
Boxes whose shorter side is under `min_face` pixels are "ignore" regions: a detection on one is neither a hit nor a
false alarm, and they do not count as faces to find.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceatlas.geometry import iou_matrix

SIZE_BANDS = ((10, 20), (20, 40), (40, 80), (80, 160), (160, float("inf")))
"""Face size bands in pixels of the ground-truth box's shorter side."""


@dataclass
class GroundTruth:
    image: str  # path relative to the image folder
    boxes: np.ndarray  # (G, 4) xyxy float32


def load_boxes(source: Path) -> list[GroundTruth]:
    """Ground truth from a boxes CSV or a folder of VOC XML files (objects of any class are faces), sorted by image.

    An image listed with no boxes (a CSV row with empty coordinates, or an XML file without objects) is kept:
    every detection on it is a false positive.
    """
    source = Path(source)
    by_image: dict[str, list[list[float]]] = defaultdict(list)
    if source.is_dir():
        for xml_file in sorted(source.glob("*.xml")):
            root = ElementTree.parse(xml_file).getroot()
            name = root.findtext("filename") or f"{xml_file.stem}.jpg"
            by_image[name].extend([float(obj.findtext(f"bndbox/{k}", "nan")) for k in ("xmin", "ymin", "xmax", "ymax")]
                                  for obj in root.iter("object"))
        if not by_image:
            raise ValueError(f"{source}: no VOC XML files")
    elif source.suffix.lower() == ".csv":
        with open(source, newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"image", "xmin", "ymin", "xmax", "ymax"} <= set(reader.fieldnames):
                raise ValueError(f"{source}: a boxes CSV needs the columns image, xmin, ymin, xmax, ymax")
            for row in reader:
                coordinates = [row[k] for k in ("xmin", "ymin", "xmax", "ymax")]
                by_image[row["image"]].extend([[float(v) for v in coordinates]] if all(coordinates) else [])
    else:
        raise ValueError(f"{source}: give a boxes CSV or a folder of VOC XML files")
    truths = [GroundTruth(name, np.asarray(boxes, np.float32).reshape(-1, 4)) for name, boxes in by_image.items()]
    for truth in truths:
        if np.isnan(truth.boxes).any() or (truth.boxes[:, 2:] < truth.boxes[:, :2]).any():
            raise ValueError(f"{source}: {truth.image} has a box with missing or inverted coordinates")
    return sorted(truths, key=lambda t: t.image)


def match(det_boxes: np.ndarray, det_scores: np.ndarray, gt: np.ndarray, ignore: np.ndarray, iou: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching in score order, each ground-truth box matched at most once (a duplicate is a false positive).

    Returns a label per detection (1 true positive, 0 false positive, -1 on an ignored box) and, per ground-truth
    box, whether some detection matched it.
    """
    labels = np.zeros(len(det_boxes), np.int8)
    taken = np.zeros(len(gt), bool)
    if len(gt) == 0 or len(det_boxes) == 0:
        return labels, taken
    overlaps = iou_matrix(det_boxes, gt)
    for d in np.argsort(-det_scores, kind="stable"):
        free = np.where(taken | ignore, -1.0, overlaps[d])
        best = int(np.argmax(free))
        if free[best] >= iou:
            taken[best] = True
            labels[d] = 1
            continue
        on_ignored = np.where(ignore & ~taken, overlaps[d], -1.0)
        best = int(np.argmax(on_ignored))
        if on_ignored[best] >= iou:
            taken[best] = True
            labels[d] = -1
    return labels, taken


def average_precision(scores: np.ndarray, labels: np.ndarray, positives: int) -> float:
    """VOC all-point interpolation: area under the precision envelope over recall."""
    order = np.argsort(-scores, kind="stable")
    labels = labels[order]
    labels = labels[labels >= 0]
    tp = np.cumsum(labels == 1)
    fp = np.cumsum(labels == 0)
    recall = np.concatenate([[0.0], tp / max(positives, 1), [tp[-1] / max(positives, 1) if len(tp) else 0.0]])
    precision = np.concatenate([[1.0], tp / np.maximum(tp + fp, 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


def detection_metrics(detections: list[tuple[np.ndarray, np.ndarray]], truths: list[np.ndarray],
                      threshold: float, min_face: float = 10.0, iou: float = 0.5) -> dict:
    """Metrics for (boxes, scores) per image against ground-truth boxes per image, keeping scores >= `threshold`."""
    all_scores, all_labels = [], []
    positives = total = found_all = 0
    band_faces = np.zeros(len(SIZE_BANDS), int)
    band_found = np.zeros(len(SIZE_BANDS), int)
    for (boxes, scores), gt in zip(detections, truths, strict=True):
        keep = scores >= threshold
        sides = np.minimum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1])
        ignore = sides < min_face
        labels, matched = match(boxes[keep], scores[keep], gt, ignore, iou)
        all_scores.append(scores[keep])
        all_labels.append(labels)
        positives += int((~ignore).sum())
        total += len(gt)
        found_all += int(matched.sum())
        for b, (low, high) in enumerate(SIZE_BANDS):
            in_band = (sides >= max(low, min_face)) & (sides < high)
            band_faces[b] += int(in_band.sum())
            band_found[b] += int((in_band & matched).sum())
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    labels = np.concatenate(all_labels) if all_labels else np.zeros(0, np.int8)
    tp, fp = int((labels == 1).sum()), int((labels == 0).sum())
    return {
        "images": len(truths), "faces": positives, "faces_ignored": total - positives,
        "ap": average_precision(scores, labels, positives),
        "recall": tp / max(positives, 1),
        "recall_all": found_all / max(total, 1),
        "precision": tp / max(tp + fp, 1),
        "fp_per_image": fp / max(len(truths), 1),
        "recall_by_size": [{"min_side": low, "max_side": None if high == float("inf") else high,
                            "faces": int(n), "recall": None if n == 0 else float(f / n)}
                           for (low, high), n, f in zip(SIZE_BANDS, band_faces, band_found, strict=True)],
    }
