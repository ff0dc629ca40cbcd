"""dlib's ResNet face recogniser (the model behind `face_recognition`), from the optional `faceatlas[dlib]` extra.

dlib cuts its own 150x150 chip from its 5-point shape predictor (eye corners and nose base), so the detector's box
seeds that predictor and its chip, not the ArcFace template, is what the network sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceatlas.embed.base import l2_normalise
from faceatlas.errors import ModelUnavailableError
from faceatlas.models.card import ModelCard
from faceatlas.models.registry import get_card
from faceatlas.models.store import resolve


def _import_dlib() -> Any:
    try:
        import dlib
    except ImportError:
        raise ModelUnavailableError(
            "the dlib recogniser needs the optional extra: pip install 'faceatlas[dlib]'"
        ) from None
    return dlib


class DlibResNetRecogniser:
    """dlib ResNet v1 (128-d) on dlib's own chips; embeddings are L2-normalised and compared by cosine."""

    crop_size = None  # dlib cuts its own 150x150 chips

    def __init__(self, card: ModelCard, threads: int = 0, flip: bool = False) -> None:
        del threads, flip  # dlib runs single-threaded here and has no mirrored pass
        self.model_id = card.id
        self.dim = int(card.embedding_dim or 128)
        self._card = card
        self._models: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._models is None:
            dlib = _import_dlib()
            predictor = dlib.shape_predictor(str(resolve(get_card("dlib-shape5"))))
            network = dlib.face_recognition_model_v1(str(resolve(self._card)))
            self._models = (predictor, network)
        return self._models

    def embed(self, bgr: np.ndarray, landmarks5: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        if len(boxes) == 0:
            return np.zeros((0, self.dim), np.float32)
        dlib = _import_dlib()
        predictor, network = self._load()
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        shapes = dlib.full_object_detections()
        for x1, y1, x2, y2 in boxes:
            shapes.append(predictor(rgb, dlib.rectangle(int(x1), int(y1), int(x2), int(y2))))
        chips = dlib.get_face_chips(rgb, shapes, size=150, padding=0.25)
        descriptors = network.compute_face_descriptor(chips)
        return l2_normalise(np.array([np.asarray(d) for d in descriptors], np.float32))
