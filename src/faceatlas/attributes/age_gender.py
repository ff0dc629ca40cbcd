"""Age and gender from Cydral's dlib networks (ONNX), on chips in dlib's geometry cut from our landmarks.

Age is the expected value of the network's distribution over 0-80 years; `age_std` is that distribution's spread,
the head's own uncertainty (wide for children and the elderly, where the model is weakest). Gender comes with the
winning class's probability.
"""

from __future__ import annotations

import numpy as np

from faceatlas.attributes.chips import OUR_POINTS_IN_DLIB_CHIP, template_chips
from faceatlas.models.card import ModelCard
from faceatlas.models.registry import get_card
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import resolve
from faceatlas.types import Faces

AGE_MODEL, GENDER_MODEL = "age-cydral-v1", "gender-cydral-v1"


def _blob(chips_rgb: np.ndarray, card: ModelCard) -> np.ndarray:
    mean = np.asarray(card.input_spec["mean"], np.float32)
    return ((chips_rgb.astype(np.float32) - mean) / np.float32(card.input_spec["std"])).transpose(0, 3, 1, 2)


class AgeGenderHead:
    name = "age_gender"
    model_ids = (AGE_MODEL, GENDER_MODEL)
    columns = ("age", "age_std", "gender", "gender_confidence")

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads
        self._age, self._gender = get_card(AGE_MODEL), get_card(GENDER_MODEL)
        self._ages = np.asarray(self._age.output_spec["ages"], np.float32)
        self._labels = np.asarray(self._gender.output_spec["labels"])

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        if len(faces) == 0:
            return {"age": np.zeros(0, np.float32), "age_std": np.zeros(0, np.float32),
                    "gender": np.zeros(0, self._labels.dtype), "gender_confidence": np.zeros(0, np.float32)}
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        age_session = onnx_session(resolve(self._age), self._threads)
        gender_session = onnx_session(resolve(self._gender), self._threads)
        age_chips = template_chips(rgb, faces.landmarks5, 64, OUR_POINTS_IN_DLIB_CHIP)
        gender_chips = template_chips(rgb, faces.landmarks5, 32, OUR_POINTS_IN_DLIB_CHIP)
        age_p = age_session.run(None, {age_session.get_inputs()[0].name: _blob(age_chips, self._age)})[0]
        gender_p = gender_session.run(None, {gender_session.get_inputs()[0].name: _blob(gender_chips,
                                                                                         self._gender)})[0]
        age = age_p @ self._ages
        spread = np.sqrt(np.maximum(age_p @ self._ages**2 - age**2, 0))
        winner = gender_p.argmax(axis=1)
        return {"age": age.astype(np.float32), "age_std": spread.astype(np.float32),
                "gender": self._labels[winner], "gender_confidence": gender_p.max(axis=1).astype(np.float32)}
