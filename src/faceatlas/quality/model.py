"""The quality head's model as data: a logistic regression over signals and their squares, standardised."""

from __future__ import annotations

import numpy as np

MODEL_NAME = "logistic-v2.json"
"""The fitted models' file in this package (written by `scripts/fit_quality.py`)."""


def expand(features: np.ndarray) -> np.ndarray:
    """The model's inputs: each signal and its square."""
    features = features.astype(np.float64)
    return np.concatenate([features, features**2], axis=1)


def match_probability(model: dict, inputs: np.ndarray) -> np.ndarray:
    """(N,) float32: a fitted model (`mean`, `std`, `coefficients`, `intercept` over `expand`ed inputs) applied to rows
    of its signals."""
    standard = (expand(inputs) - np.asarray(model["mean"])) / np.asarray(model["std"])
    logit = standard @ np.asarray(model["coefficients"]) + model["intercept"]
    return (1 / (1 + np.exp(-np.clip(logit, -30, 30)))).astype(np.float32)
