"""The quality head: a small linear model over the cheap signals of `quality.features` (and their squares),
fitted on development data to predict recognisability (a face's mean similarity to other photos of the same
person), mapped to [0, 1] by the spread of its predictions on that data. Its parameters are data, in
`quality/linear-v1.json`, written by `scripts/fit_quality.py`."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from faceatlas.quality.features import FEATURES, quality_features
from faceatlas.types import Faces

MODEL_FILE = Path(__file__).with_name("linear-v1.json")


def expand(features: np.ndarray) -> np.ndarray:
    """The model's inputs: each signal and its square."""
    return np.concatenate([features, features**2], axis=1)


@lru_cache(maxsize=1)
def _model() -> dict:
    model = json.loads(MODEL_FILE.read_text())
    if tuple(model["features"]) != FEATURES:
        raise ValueError(f"{MODEL_FILE} was fitted on other features than {FEATURES}")
    return model


def quality_scores(features: np.ndarray) -> np.ndarray:
    model = _model()
    standard = (expand(features) - np.asarray(model["mean"])) / np.asarray(model["std"])
    raw = standard @ np.asarray(model["coefficients"]) + model["intercept"]
    low, high = model["output_range"]
    return np.clip((raw - low) / (high - low), 0.0, 1.0).astype(np.float32)


class QualityHead:
    name = "quality"
    model_ids: tuple[str, ...] = ()
    columns = ("quality",)

    def __init__(self, threads: int = 0) -> None:
        del threads  # NumPy only

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        return {"quality": quality_scores(quality_features(bgr, faces, aligned))}
