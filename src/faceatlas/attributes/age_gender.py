"""Age and gender from Cydral's dlib networks (ONNX), on chips in dlib's geometry cut from our landmarks.

Age is the expected value of the network's distribution over 0-80 years; `age_std` is that distribution's spread,
the head's own uncertainty (wide for children and the elderly, where the model is weakest); `age_low` and `age_high`
are age ± `std_multiple` spreads, the multiple fitted on development data (`age-interval.json`,
`scripts/fit_age_interval.py`) so that the interval holds the true age at its stated coverage. Gender is the mean of
the network on the face and on its mirror (its stated confidence a little closer to its accuracy), with the winning
class's probability. Mirroring, more views and a monotone calibration of age were measured and not kept: each made
some age band worse (the script's report).
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

MIN_SPREAD = 0.5
"""The interval's half-width is a multiple of the spread, at least this many years' spread."""

INTERVAL_FILE = Path(__file__).with_name("age-interval.json")


@lru_cache(maxsize=1)
def age_interval() -> dict:
    """The fitted age interval: its `coverage`, the `std_multiple` that gives it, and what it was fitted on."""
    return json.loads(INTERVAL_FILE.read_text())


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

    def distributions(self, rgb: np.ndarray, landmarks5: np.ndarray, mirrored_age: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(views, N, ages) and (2, N, 2) probabilities for the faces at `landmarks5` in an RGB picture: gender as the
        faces are and mirrored; age as they are (and mirrored too with `mirrored_age`, which the head does not use),
        one run of each network."""
        age_chips = template_chips(rgb, landmarks5, 64, OUR_POINTS_IN_DLIB_CHIP)
        gender_chips = template_chips(rgb, landmarks5, 32, OUR_POINTS_IN_DLIB_CHIP)
        if mirrored_age:
            age_chips = np.concatenate([age_chips, age_chips[:, :, ::-1]])
        gender_chips = np.concatenate([gender_chips, gender_chips[:, :, ::-1]])
        age_session = onnx_session(resolve(self._age), self._threads)
        gender_session = onnx_session(resolve(self._gender), self._threads)
        age_p = age_session.run(None, {age_session.get_inputs()[0].name: _blob(age_chips, self._age)})[0]
        gender_p = gender_session.run(None, {gender_session.get_inputs()[0].name: _blob(gender_chips,
                                                                                         self._gender)})[0]
        count = len(landmarks5)
        return age_p.reshape(-1, count, age_p.shape[1]), gender_p.reshape(2, count, -1)

    def ages(self, age_p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Age, the interval's low and high ends, and the spread, from (N, ages) distributions."""
        age = age_p @ self._ages
        spread = np.sqrt(np.maximum(age_p @ self._ages**2 - age**2, 0))
        half = age_interval()["std_multiple"] * np.maximum(spread, MIN_SPREAD)
        return age, np.maximum(age - half, 0), age + half, spread

    def _gender_probabilities(self, views: np.ndarray) -> np.ndarray:
        """The gender probabilities from the face's views (as is, mirrored): their mean."""
        return views.mean(axis=0)

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        if len(faces) == 0:
            empty = np.zeros(0, np.float32)
            return {"age": empty, "age_low": empty, "age_high": empty, "age_std": empty,
                    "gender": np.zeros(0, self._labels.dtype), "gender_confidence": empty}
        age_views, gender_views = self.distributions(np.ascontiguousarray(bgr[:, :, ::-1]), faces.landmarks5)
        age, low, high, spread = self.ages(age_views[0])
        gender_p = self._gender_probabilities(gender_views)
        winner = gender_p.argmax(axis=1)
        return {"age": age.astype(np.float32), "age_low": low.astype(np.float32), "age_high": high.astype(np.float32),
                "age_std": spread.astype(np.float32), "gender": self._labels[winner],
                "gender_confidence": gender_p.max(axis=1).astype(np.float32)}


class AgeGenderNetworkHead(AgeGenderHead):
    """The networks alone, on the face as it is: what the head is measured against."""

    name = "age_gender_network"

    def _gender_probabilities(self, views: np.ndarray) -> np.ndarray:
        return views[0]
