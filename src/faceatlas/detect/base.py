"""The detector Protocol, shared post-processing, and the factory that builds a detector from its card."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from faceatlas.models.card import ModelCard
from faceatlas.types import Faces


@runtime_checkable
class Detector(Protocol):
    """Finds faces in one BGR uint8 image; coordinates are in that image's pixels."""

    model_id: str

    def detect(self, bgr: np.ndarray) -> Faces: ...


def scale_to_fit(width: int, height: int, long_side: int) -> float:
    """Factor that brings the image's long side to `long_side` (up or down)."""
    return long_side / max(width, height)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every xyxy box of `a` with every one of `b`."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy NMS over xyxy boxes, best score first."""
    if len(boxes) == 0:
        return np.zeros((0,), np.int64)
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).astype(np.float32)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(np.float32).tolist(), 0.0, iou)
    return np.asarray(keep, np.int64).reshape(-1)


def build_faces(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray, image_size: tuple[int, int],
                model_id: str, iou: float, max_faces: int | None = None) -> Faces:
    """NMS, clip boxes to the image, order by score, and pack into `Faces`."""
    keep = non_max_suppression(boxes, scores, iou)
    keep = keep[np.argsort(-scores[keep], kind="stable")][:max_faces]
    width, height = image_size
    boxes = boxes[keep].astype(np.float32)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    return Faces(boxes=boxes, scores=scores[keep].astype(np.float32),
                 landmarks5=landmarks[keep].reshape(-1, 5, 2).astype(np.float32),
                 image_size=image_size, detector=model_id)


def create_detector(card: ModelCard, threads: int = 0, **options: object) -> Detector:
    """Instantiate the implementation a card names (`architecture`).

    The option `tile` (pixels, 0 = off) makes a `TiledDetector`: the detector as configured on the whole image, plus
    the same detector at `input_size=tile` on overlapping `tile`-pixel tiles (native resolution; an image smaller
    than a tile is enlarged to one tile), consecutive tiles sharing `tile_overlap` (default 0.25) of a tile."""
    tile = int(options.pop("tile", 0))  # type: ignore[call-overload]
    overlap = float(options.pop("tile_overlap", 0.25))  # type: ignore[arg-type]
    if card.architecture == "yunet":
        from faceatlas.detect.yunet import YuNetDetector as implementation
    elif card.architecture == "retinaface":
        from faceatlas.detect.retinaface import RetinaFaceDetector as implementation  # type: ignore[assignment]
    else:
        raise ValueError(f"model '{card.id}' has architecture '{card.architecture}', which is not a detector")
    detector = implementation(card, threads=threads, **options)  # type: ignore[arg-type]
    if not tile:
        return detector
    from faceatlas.detect.tiled import TiledDetector

    tiles = implementation(card, threads=threads, **{**options, "input_size": tile})  # type: ignore[arg-type]
    return TiledDetector(detector, tile=tile, overlap=overlap, tiles=tiles)
