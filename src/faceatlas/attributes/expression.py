"""Facial expression (7 FER2013 classes) from the mini-Xception network, on 64x64 grey crops in FER2013's geometry.

Each face is seen ten ways (`ZOOMS`, each also mirrored, and `SHIFTS`) and the probabilities combined by their
geometric mean. On FER2013 PublicTest's own crops (`benchmarks/expression_views.py`) the network alone scores
65.5 %; with its mirror 66.4 %; at the three zooms 66.3 %; zooms and mirrors 67.2 %; all ten 67.5 %.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceatlas.attributes.chips import FER_CROP_TEMPLATE, template_chips
from faceatlas.models.registry import get_card
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import resolve
from faceatlas.types import Faces

EXPRESSION_MODEL = "expression-fer-minixception"

ZOOMS = (1.0, 1 / 0.9, 1 / 1.1)
"""The crops each face is seen at: FER2013's geometry, 10 % closer, 10 % further (each also mirrored)."""

SHIFTS = ((2, 0), (-2, 0), (0, 2), (0, -2))
"""And FER2013's geometry moved by these pixels (of 64) right, left, down, up."""


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
        """(N, 7) probabilities for (N, 64, 64) uint8 grey crops already in FER2013 geometry: the network alone."""
        session = onnx_session(resolve(self._card), self._threads)
        blob = (gray_crops.astype(np.float32)[:, None] / 255.0 - 0.5) * 2.0
        return session.run(None, {session.get_inputs()[0].name: blob})[0]

    def probabilities_of_faces(self, gray: np.ndarray, landmarks5: np.ndarray) -> np.ndarray:
        """(N, 7) probabilities for the faces at `landmarks5` in a grey picture: each seen at every zoom of `ZOOMS`
        (as is and mirrored) and every shift of `SHIFTS`, in one run of the network; the views' geometric mean,
        normalised."""
        zoomed = [template_chips(gray, landmarks5, 64, 0.5 + (FER_CROP_TEMPLATE - 0.5) * zoom) for zoom in ZOOMS]
        shifted = [template_chips(gray, landmarks5, 64, FER_CROP_TEMPLATE + np.float32(shift) / 64) for shift in SHIFTS]
        views = [*zoomed, *(view[:, :, ::-1] for view in zoomed), *shifted]
        logs = np.log(self.probabilities_of_crops(np.concatenate(views)) + 1e-9).reshape(len(views), len(landmarks5),
                                                                                         -1)
        combined = np.exp(logs.mean(axis=0))
        return combined / combined.sum(axis=1, keepdims=True)

    def _probabilities(self, gray: np.ndarray, landmarks5: np.ndarray) -> np.ndarray:
        return self.probabilities_of_faces(gray, landmarks5)

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        if len(faces) == 0:
            return {"expression": np.zeros(0, self.labels.dtype), "expression_confidence": np.zeros(0, np.float32),
                    "expression_probabilities": np.zeros((0, len(self.labels)), np.float32)}
        probabilities = self._probabilities(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), faces.landmarks5)
        return {"expression": self.labels[probabilities.argmax(axis=1)],
                "expression_confidence": probabilities.max(axis=1).astype(np.float32),
                "expression_probabilities": probabilities.astype(np.float32)}


class ExpressionNetworkHead(ExpressionHead):
    """The network alone, on one crop in FER2013's geometry: what the head's views are measured against (and a
    tenth of its cost)."""

    name = "expression_network"

    def _probabilities(self, gray: np.ndarray, landmarks5: np.ndarray) -> np.ndarray:
        return self.probabilities_of_crops(template_chips(gray, landmarks5, 64, FER_CROP_TEMPLATE))
