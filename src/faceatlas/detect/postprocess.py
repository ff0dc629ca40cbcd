"""What detectors share around their networks: fitting the image to the input, NMS, clipping to the image and
packing into `Faces`."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from faceatlas.types import Faces


def scale_to_fit(width: int, height: int, long_side: int) -> float:
    """Factor that brings the image's long side to `long_side` (up or down)."""
    return long_side / max(width, height)


def padded_input(bgr: np.ndarray, long_side: int, pixels: Callable[[np.ndarray], np.ndarray],
                 fixed: tuple[int, int] | None = None) -> tuple[np.ndarray, float]:
    """The NCHW float32 blob of `bgr` resized so its long side is `long_side` (or to fit inside `fixed`, a graph's
    (height, width)), converted by `pixels` (uint8 BGR -> float32 HWC) and zero-padded at the right and bottom to
    `fixed` or the next multiple of 32; and the scale applied."""
    height, width = bgr.shape[:2]
    scale = min(fixed[0] / height, fixed[1] / width) if fixed else scale_to_fit(width, height, long_side)
    resized = cv2.resize(bgr, (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    rows, cols = resized.shape[:2]
    blob = np.zeros((1, 3, *(fixed or (-(-rows // 32) * 32, -(-cols // 32) * 32))), np.float32)
    blob[0, :, :rows, :cols] = pixels(resized).transpose(2, 0, 1)
    return blob, scale


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
