"""Facial expression (7 FER2013 classes) from the mini-Xception network, on 64x64 grey crops in FER2013's geometry."""

from __future__ import annotations

import cv2
import numpy as np

from faceatlas.attributes.chips import FER_CROP_TEMPLATE, template_chips
from faceatlas.models.registry import get_card
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import resolve
from faceatlas.types import Faces

EXPRESSION_MODEL = "expression-fer-minixception"


class ExpressionHead:
    name = "expression"
    model_ids = (EXPRESSION_MODEL,)
    columns = ("expression", "expression_confidence", "expression_probabilities")

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads
        self._card = get_card(EXPRESSION_MODEL)
        self.labels = np.asarray(self._card.output_spec["labels"])
        self.labels_of = {"expression_probabilities": tuple(str(label) for label in self.labels)}

    def probabilities_of_crops(self, gray_crops: np.ndarray) -> np.ndarray:
        """(N, 7) probabilities for (N, 64, 64) uint8 grey crops already in FER2013 geometry."""
        session = onnx_session(resolve(self._card), self._threads)
        blob = (gray_crops.astype(np.float32)[:, None] / 255.0 - 0.5) * 2.0
        return session.run(None, {session.get_inputs()[0].name: blob})[0]

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        if len(faces) == 0:
            return {"expression": np.zeros(0, self.labels.dtype), "expression_confidence": np.zeros(0, np.float32),
                    "expression_probabilities": np.zeros((0, len(self.labels)), np.float32)}
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        probabilities = self.probabilities_of_crops(template_chips(gray, faces.landmarks5, 64, FER_CROP_TEMPLATE))
        return {"expression": self.labels[probabilities.argmax(axis=1)],
                "expression_confidence": probabilities.max(axis=1).astype(np.float32),
                "expression_probabilities": probabilities.astype(np.float32)}
