"""Small annotators that draw `Faces` onto a BGR image."""

from __future__ import annotations

import cv2
import numpy as np

from faceatlas.types import Faces

LANDMARK_COLOURS = ((255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 0, 255), (0, 255, 255))


def draw_faces(bgr: np.ndarray, faces: Faces) -> np.ndarray:
    """A copy of `bgr` with each face's box, score and five landmarks."""
    canvas = bgr.copy()
    thickness = max(1, round(max(canvas.shape[:2]) / 500))
    for box, score, points in zip(faces.boxes, faces.scores, faces.landmarks5, strict=True):
        x1, y1, x2, y2 = np.rint(box).astype(int).tolist()
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (0, 255, 0), thickness)
        cv2.putText(canvas, f"{score:.2f}", (x1, max(0, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, (0, 255, 0), thickness)
        for (x, y), colour in zip(np.rint(points).astype(int).tolist(), LANDMARK_COLOURS, strict=True):
            cv2.circle(canvas, (x, y), thickness + 1, colour, -1)
    return canvas
