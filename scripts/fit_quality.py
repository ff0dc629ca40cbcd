"""Fit the quality head on LFW View 1 DevTrain (DevTest stays unseen, for `benchmarks/quality_erc.py`).

Pictures: every DevTrain photo, and one degraded copy of each (`eval.degrade`, the kind drawn at random, seeded).
Target: for each picture and each other photo of the same person (clean), whether the two match at SFace's FMR 1e-3
threshold. Model: logistic regression (cross-validated L2) on the standardised signals and their squares; one model
with SFace's embedding norm, one with the image signals only. Writes src/faceatlas/quality/logistic-v2.json.
Needs ../shared/data.

    .venv/bin/python scripts/fit_quality.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.eval.degrade import DEGRADATIONS, with_degraded_copies
from faceatlas.eval.pairs import read_pairs
from faceatlas.eval.quality import collect, fit_quality_model, match_outcomes
from faceatlas.pipeline import calibrated_threshold
from faceatlas.quality.features import FEATURES
from faceatlas.quality.head import IMAGE_ONLY, MODEL_FILE

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args()
    analyzer = FaceAnalyzer()
    names = sorted({n for p in read_pairs(LFW / "pairsDevTrain.txt") for n in (p.a, p.b)})
    made = with_degraded_copies([LFW / "images" / n for n in names], every_kind=False)
    people = [Path(photo).parent.name for photo in made.photos]
    samples = collect(analyzer, made.images)
    reference = samples.found & (np.asarray(made.kinds) == "clean")
    threshold = calibrated_threshold(analyzer.recogniser_card, 1e-3)
    rows, matched = match_outcomes(samples.embeddings, people, made.photos, reference, threshold)
    keep = samples.found[rows]
    rows, matched = rows[keep], matched[keep]
    models = {analyzer.recogniser_card.id: fit_quality_model(np.column_stack([samples.features, samples.norms]), rows,
                                                             matched, [*FEATURES, "embedding_norm"]),
              IMAGE_ONLY: fit_quality_model(samples.features, rows, matched, list(FEATURES))}
    out = {"version": 2, "predicts": "the probability that a face matches another photo of the same person at "
                                     "SFace's FMR 1e-3 threshold",
           "fitted_on": f"LFW View 1 DevTrain: {int(reference.sum())} photos and one degraded copy of each "
                        f"({', '.join(DEGRADATIONS)}, drawn at random); {len(rows)} pairs with another photo of the "
                        "same person", "threshold": threshold, "command": "python scripts/fit_quality.py",
           "models": models}
    MODEL_FILE.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({name: {k: m[k] for k in ("C", "pairs", "matched")} for name, m in models.items()}))


if __name__ == "__main__":
    main()
