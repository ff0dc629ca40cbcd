"""Error-versus-reject curves of the quality head on LFW View 1 DevTest images (unseen when it was fitted):
FNMR at SFace's calibrated FMR=1e-3 threshold over all pairs of the images kept, as the lowest-scoring fraction of
images is rejected by quality, by face size alone (eye distance), and at random (mean of 20 draws).

    .venv/bin/python benchmarks/quality_erc.py

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.eval.pairs import read_pairs
from faceatlas.eval.quality import collect, error_versus_reject
from faceatlas.pipeline import calibrated_threshold
from faceatlas.quality.features import FEATURES
from faceatlas.quality.head import quality_scores

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fmr", type=float, default=1e-3)
    args = parser.parse_args()
    analyzer = FaceAnalyzer()
    names = sorted({n for p in read_pairs(LFW / "pairsDevTest.txt") for n in (p.a, p.b)})
    samples = collect(analyzer, [LFW / "images" / n for n in names])
    keep = samples.found
    embeddings, features = samples.embeddings[keep], samples.features[keep]
    labels = [n.split("/")[0] for n, ok in zip(names, keep, strict=True) if ok]
    threshold = calibrated_threshold(analyzer.recogniser_card, args.fmr)
    curves = {"quality": error_versus_reject(embeddings, labels, quality_scores(features), threshold),
              "face_size": error_versus_reject(embeddings, labels, features[:, FEATURES.index("log_eye_distance")],
                                               threshold)}
    rng = np.random.default_rng(0)
    draws = [error_versus_reject(embeddings, labels, rng.random(len(labels)), threshold) for _ in range(20)]
    curves["random"] = [{**draws[0][i], "fnmr": float(np.mean([d[i]["fnmr"] for d in draws]))}
                        for i in range(len(draws[0]))]
    print(json.dumps({"benchmark": "quality_erc", "machine": platform.platform(), "images": len(labels),
                      "threshold": threshold, "fmr": args.fmr, "curves": curves}, indent=1))


if __name__ == "__main__":
    main()
