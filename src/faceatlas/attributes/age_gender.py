"""Age and gender from Cydral's dlib networks (ONNX), on chips in dlib's geometry cut from our landmarks.

Each face is seen as is and mirrored; the two distributions are averaged. Age is the expected value of the network's
distribution over 0-80 years, mapped through a monotone calibration fitted on development data
(`age-calibration.json`, `scripts/fit_age_calibration.py`: isotonic regression of the true age on it); `age_low` and
`age_high` bound an interval meant to hold the true age at the file's stated coverage (the distribution's own
quantiles, calibrated the same way and widened by a fitted factor); `age_std` is the distribution's spread, the
head's own uncertainty (wide for children and the elderly, where the model is weakest). Gender comes with the
winning class's probability.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from faceatlas.attributes.chips import OUR_POINTS_IN_DLIB_CHIP, template_chips
from faceatlas.models.card import ModelCard
from faceatlas.models.registry import get_card
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import resolve
from faceatlas.types import Faces

AGE_MODEL, GENDER_MODEL = "age-cydral-v1", "gender-cydral-v1"

CALIBRATION_FILE = Path(__file__).with_name("age-calibration.json")


@lru_cache(maxsize=1)
def age_calibration() -> dict:
    """The fitted age calibration: `expected` and `age` knots of the monotone map, the interval's quantiles and
    widening `scale`, and what it was fitted on."""
    return json.loads(CALIBRATION_FILE.read_text())


def _blob(chips_rgb: np.ndarray, card: ModelCard) -> np.ndarray:
    mean = np.asarray(card.input_spec["mean"], np.float32)
    return ((chips_rgb.astype(np.float32) - mean) / np.float32(card.input_spec["std"])).transpose(0, 3, 1, 2)


class AgeGenderHead:
    name = "age_gender"
    model_ids = (AGE_MODEL, GENDER_MODEL)
    columns = ("age", "age_low", "age_high", "age_std", "gender", "gender_confidence")

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads
        self._age, self._gender = get_card(AGE_MODEL), get_card(GENDER_MODEL)
        self._ages = np.asarray(self._age.output_spec["ages"], np.float32)
        self._labels = np.asarray(self._gender.output_spec["labels"])

    def distributions(self, rgb: np.ndarray, landmarks5: np.ndarray, mirror: bool = True
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(N, ages) and (N, 2) probabilities for the faces at `landmarks5` in an RGB picture: the mean over each
        face and its mirror (with `mirror`), or the network on the face alone."""
        count = len(landmarks5)
        age_chips = template_chips(rgb, landmarks5, 64, OUR_POINTS_IN_DLIB_CHIP)
        gender_chips = template_chips(rgb, landmarks5, 32, OUR_POINTS_IN_DLIB_CHIP)
        if mirror:
            age_chips = np.concatenate([age_chips, age_chips[:, :, ::-1]])
            gender_chips = np.concatenate([gender_chips, gender_chips[:, :, ::-1]])
        age_session = onnx_session(resolve(self._age), self._threads)
        gender_session = onnx_session(resolve(self._gender), self._threads)
        age_p = age_session.run(None, {age_session.get_inputs()[0].name: _blob(age_chips, self._age)})[0]
        gender_p = gender_session.run(None, {gender_session.get_inputs()[0].name: _blob(gender_chips,
                                                                                         self._gender)})[0]
        views = 2 if mirror else 1
        return age_p.reshape(views, count, -1).mean(axis=0), gender_p.reshape(views, count, -1).mean(axis=0)

    def ages(self, age_p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Calibrated age, interval low and high, and the spread, from (N, ages) distributions."""
        calibration = age_calibration()
        expected = age_p @ self._ages
        spread = np.sqrt(np.maximum(age_p @ self._ages**2 - expected**2, 0))
        cumulative = np.cumsum(age_p, axis=1)
        low_q, high_q = calibration["interval"]["quantiles"]
        bounds = [self._ages[np.minimum((cumulative < q).sum(axis=1), len(self._ages) - 1)] for q in (low_q, high_q)]

        def mapped(values: np.ndarray) -> np.ndarray:
            return np.interp(values, calibration["expected"], calibration["age"])

        age, scale = mapped(expected), calibration["interval"]["scale"]
        low = np.maximum(age - scale * np.maximum(age - mapped(bounds[0]), 0), 0)
        high = age + scale * np.maximum(mapped(bounds[1]) - age, 0)
        return age, low, high, spread

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        if len(faces) == 0:
            empty = np.zeros(0, np.float32)
            return {"age": empty, "age_low": empty, "age_high": empty, "age_std": empty,
                    "gender": np.zeros(0, self._labels.dtype), "gender_confidence": empty}
        age_p, gender_p = self.distributions(np.ascontiguousarray(bgr[:, :, ::-1]), faces.landmarks5)
        age, low, high, spread = self.ages(age_p)
        winner = gender_p.argmax(axis=1)
        return {"age": age.astype(np.float32), "age_low": low.astype(np.float32), "age_high": high.astype(np.float32),
                "age_std": spread.astype(np.float32), "gender": self._labels[winner],
                "gender_confidence": gender_p.max(axis=1).astype(np.float32)}
