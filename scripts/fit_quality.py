"""Fit the quality head on LFW View 1 DevTrain images (DevTest stays unseen for the error-versus-reject benchmark).

Target per image: its mean cosine similarity to the other DevTrain photos of the same person (default profile).
Model: ridge regression on the standardised signals and their squares; the [0, 1] mapping is the 1st-99th
percentile range of its predictions on DevTrain. Writes src/faceatlas/quality/linear-v1.json. Needs ../shared/data.

    .venv/bin/python scripts/fit_quality.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import RidgeCV

from faceatlas import FaceAnalyzer
from faceatlas.eval.pairs import read_pairs
from faceatlas.eval.quality import collect, recognisability
from faceatlas.quality.features import FEATURES
from faceatlas.quality.head import MODEL_FILE, expand

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args()
    names = sorted({n for p in read_pairs(LFW / "pairsDevTrain.txt") for n in (p.a, p.b)})
    samples = collect(FaceAnalyzer(), [LFW / "images" / n for n in names])
    labels = [n.split("/")[0] for n in names]
    target = recognisability(samples.embeddings, labels)
    use = samples.found & ~np.isnan(target)
    inputs = expand(samples.features[use])
    mean, std = inputs.mean(axis=0), inputs.std(axis=0) + 1e-9
    model = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit((inputs - mean) / std, target[use])
    predicted = model.predict((inputs - mean) / std)
    low, high = np.percentile(predicted, [1, 99])
    out = {"features": list(FEATURES), "mean": mean.round(6).tolist(), "std": std.round(6).tolist(),
           "coefficients": model.coef_.round(6).tolist(), "intercept": round(float(model.intercept_), 6),
           "output_range": [round(float(low), 6), round(float(high), 6)],
           "fitted_on": f"LFW View 1 DevTrain: {int(use.sum())} images with another photo of the same person",
           "target": "mean cosine to the person's other photos (default profile)",
           "r2_on_fit_data": round(float(model.score((inputs - mean) / std, target[use])), 4),
           "ridge_alpha": float(model.alpha_), "command": "python scripts/fit_quality.py"}
    MODEL_FILE.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("fitted_on", "r2_on_fit_data", "ridge_alpha")}))


if __name__ == "__main__":
    main()
