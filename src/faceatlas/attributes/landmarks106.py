"""106 dense landmarks from InsightFace's 2d106det (the research pack; non-commercial licence).

The network sees a 192x192 RGB crop, raw 0-255 (its graph subtracts and scales), centred on the detector's box and
`CROP_SCALE` times its longer side; it answers 106 points in [-1, 1] of the crop, mapped back to the image.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceatlas.models.registry import get_card
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import resolve
from faceatlas.types import Faces

MODEL = "insightface-2d106det"
SIZE = 192
CROP_SCALE = 1.5
POINTS = 106


class Landmarks106Head:
    """Column `landmarks106`: (N, 106, 2) x, y in image pixels (InsightFace's 106-point layout)."""

    name = "landmarks106"
    model_ids = (MODEL,)
    columns = ("landmarks106",)

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        if len(faces) == 0:
            return {"landmarks106": np.zeros((0, POINTS, 2), np.float32)}
        rgb = bgr[:, :, ::-1]
        crops, transforms = [], []
        for x1, y1, x2, y2 in faces.boxes:
            scale = SIZE / (max(x2 - x1, y2 - y1) * CROP_SCALE)
            shift = SIZE / 2 - scale * np.array([(x1 + x2) / 2, (y1 + y2) / 2])
            matrix = np.array([[scale, 0, shift[0]], [0, scale, shift[1]]], np.float32)
            crops.append(cv2.warpAffine(rgb, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_CONSTANT))
            transforms.append((scale, shift))
        session = onnx_session(resolve(get_card(MODEL)), self._threads)
        blob = np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32))
        name = session.get_inputs()[0].name
        output = np.concatenate([session.run(None, {name: blob[i : i + 1]})[0] for i in range(len(blob))])
        points = (output.reshape(len(blob), POINTS, 2) + 1) * (SIZE / 2)
        for i, (scale, shift) in enumerate(transforms):
            points[i] = (points[i] - shift) / scale
        return {"landmarks106": points.astype(np.float32)}
