"""Small annotators that draw `Faces` onto a BGR image, or cut a face out of one."""

from __future__ import annotations

import cv2
import numpy as np

from faceatlas.types import Faces

THUMBNAIL_SIDE = 160
"""Kept thumbnails (gallery samples, library faces; only when asked) are the face box widened by half, at most this
many pixels a side, JPEG: enough for a person to review a match and for `migrate` to re-detect and re-embed the face
with another model."""

LANDMARK_COLOURS = ((255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 0, 255), (0, 255, 255))


def face_square(box: np.ndarray | list[float], widen: float = 1.5) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the square around a face box, `widen` times its longer side, clipped at 0 (and
    by slicing at the image's far sides), at least one pixel."""
    x0, y0, x1, y1 = box[:4]
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, widen / 2 * max(x1 - x0, y1 - y0)
    left, top = max(0, int(cx - half)), max(0, int(cy - half))
    return left, top, max(left + 1, int(cx + half)), max(top + 1, int(cy + half))


def face_crop(bgr: np.ndarray, box: np.ndarray | list[float], widen: float = 1.5) -> np.ndarray:
    """The square around a face box (`face_square`), clipped to the image."""
    left, top, right, bottom = face_square(box, widen)
    return bgr[top:bottom, left:right]


def face_thumbnail(bgr: np.ndarray, box: np.ndarray | list[float]) -> bytes:
    """A kept face: `face_crop`, at most `THUMBNAIL_SIDE` pixels a side, as JPEG."""
    crop = face_crop(bgr, box)
    scale = min(1.0, THUMBNAIL_SIDE / max(crop.shape[:2]))
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    return cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def draw_faces(bgr: np.ndarray, faces: Faces, labels: list[str] | None = None) -> np.ndarray:
    """A copy of `bgr` with each face's box, five landmarks and label (default: its index and detector score)."""
    canvas = bgr.copy()
    thickness = max(1, round(max(canvas.shape[:2]) / 500))
    labels = labels or [f"#{i} {score:.2f}" for i, score in enumerate(faces.scores)]
    for box, label, points in zip(faces.boxes, labels, faces.landmarks5, strict=True):
        x1, y1, x2, y2 = np.rint(box).astype(int).tolist()
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (0, 255, 0), thickness)
        for line, text in enumerate(reversed(label.split("\n"))):
            y = max(10 * thickness, y1 - 4 - line * 14 * thickness)
            cv2.putText(canvas, text, (x1, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, (0, 255, 0), thickness)
        for (x, y), colour in zip(np.rint(points).astype(int).tolist(), LANDMARK_COLOURS, strict=True):
            cv2.circle(canvas, (x, y), thickness + 1, colour, -1)
    return canvas
