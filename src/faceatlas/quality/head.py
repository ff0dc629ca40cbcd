"""The quality head: the probability that a face matches another photo of the same person at FMR 1e-3, predicted
from cheap signals by a logistic model fitted on development data (`scripts/fit_quality.py`; its parameters are data,
in `quality/logistic-v2.json`).

Its strongest signal is the recogniser's own: the norm of SFace's output before normalisation, which falls for
blurred, tiny, dark, covered and heavily compressed faces (MagFace's observation, true of SFace too). Where no norm
of the model it was fitted for is known (another recogniser, or faces given without one), the image-only model uses
the signals of `quality.features` alone.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from faceatlas.quality.features import FEATURES, quality_features
from faceatlas.quality.model import MODEL_NAME, match_probability
from faceatlas.types import Faces

MODEL_FILE = Path(__file__).with_name(MODEL_NAME)
IMAGE_ONLY = "image-only"
"""The model of `MODEL_FILE` used without a recogniser's norms."""


@lru_cache(maxsize=1)
def quality_models() -> dict[str, dict]:
    """Recogniser id (or `IMAGE_ONLY`) -> its fitted model: features, mean, std, coefficients, intercept."""
    models = json.loads(MODEL_FILE.read_text())["models"]
    for name, model in models.items():
        expected = [*FEATURES] + ([] if name == IMAGE_ONLY else ["embedding_norm"])
        if model["features"] != expected:
            raise ValueError(f"{MODEL_FILE}: model '{name}' was fitted on other features than {expected}")
    return models


def quality_scores(features: np.ndarray, norms: np.ndarray | None = None, recogniser: str | None = None
                   ) -> np.ndarray:
    """(N,) in [0, 1]: the predicted probability of a match at FMR 1e-3, from `quality.features` rows and, when
    they come from a recogniser the model was fitted for, its embedding norms."""
    models = quality_models()
    if norms is not None and recogniser in models:
        model, inputs = models[recogniser], np.column_stack([features, norms])
    else:
        model, inputs = models[IMAGE_ONLY], features
    return match_probability(model, inputs)


class QualityHead:
    name = "quality"
    model_ids: tuple[str, ...] = ()
    columns = ("quality",)

    def __init__(self, threads: int = 0) -> None:
        del threads  # NumPy only

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        features = quality_features(bgr, faces, aligned)
        return {"quality": quality_scores(features, faces.embedding_norms, faces.embedding_model)}
