"""End-to-end LFW View 1 verification: raw images -> detect -> align -> embed (face nearest the centre).

Thresholds for accuracy are chosen on DevTrain and applied to DevTest (the View 1 protocol). TAR at FAR=1e-3 uses
each recogniser's calibrated threshold at FMR 1e-3 from its model card. Prints one JSON document.

    python benchmarks/lfw_verification.py [--profiles default dlib fused] [--data ../shared/data/lfw_view1]
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.eval.calibration import all_pair_scores, threshold_at_fmr
from faceatlas.eval.embedding import embed_centre_faces
from faceatlas.eval.pairs import read_pairs, score_pairs
from faceatlas.eval.verification import best_threshold, kfold_accuracy
from faceatlas.pipeline import calibrated_threshold

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1"


def evaluate(analyzer: FaceAnalyzer, data: Path, cache: Path | None = None) -> dict:
    """View 1's protocol for one analyzer: the threshold chosen on DevTrain, applied to DevTest (its errors named),
    10-fold accuracy on DevTest, and TAR at the card's calibrated FMR 1e-3 threshold."""
    train, test = read_pairs(data / "pairsDevTrain.txt"), read_pairs(data / "pairsDevTest.txt")
    names = sorted({n for p in train + test for n in (p.a, p.b)})
    embedded = embed_centre_faces(analyzer, [data / "images" / n for n in names], cache_dir=cache)
    index = {n: i for i, n in enumerate(names)}
    train_scores, train_same, _ = score_pairs(train, index, embedded.embeddings, embedded.found)
    test_scores, test_same, test_missing = score_pairs(test, index, embedded.embeddings, embedded.found)
    threshold = best_threshold(train_scores, train_same)
    far_threshold = calibrated_threshold(analyzer.recogniser_card, 1e-3)
    return {
        "profile": analyzer.profile,
        "detector": analyzer.detector_card.id,
        "recogniser": analyzer.recogniser_card.id,
        "images": len(names),
        "images_without_face": len(embedded.failures),
        "images_found_on_retry": embedded.fallbacks,
        "failures": embedded.failures,
        "devtest_pairs": len(test),
        "devtest_pairs_with_missing_face": test_missing,
        "threshold_from_devtrain": round(threshold, 4),
        "devtest_accuracy": round(float(np.mean((test_scores >= threshold) == test_same)), 4),
        "devtest_errors": [f"{p.a} {p.b}" for p, score in zip(test, test_scores, strict=True)
                           if (score >= threshold) != p.same],
        "devtest_accuracy_10fold": round(kfold_accuracy(test_scores, test_same, np.array([p.fold for p in test]))
                                         ["mean"], 4),
        "devtest_accuracy_oracle_threshold": round(float(np.mean(
            (test_scores >= best_threshold(test_scores, test_same)) == test_same)), 4),
        "calibrated_threshold_fmr_1e-3": round(far_threshold, 4),
        "devtest_tar_at_far_1e-3": round(float(np.mean(test_scores[test_same] >= far_threshold)), 4),
        "devtest_far_at_that_threshold": round(float(np.mean(test_scores[~test_same] >= far_threshold)), 4),
    }


def tune_fusion(data: Path, cache: Path | None = None, members: tuple[str, str] = ("default", "dlib")) -> dict:
    """Weight of the first member's cosine in the fused score, chosen on DevTrain only (DevTest unseen): the best
    DevTrain pair accuracy, ties broken by the lowest FNMR at FMR 1e-3 over all pairs of the DevTrain images."""
    train = read_pairs(data / "pairsDevTrain.txt")
    names = sorted({n for p in train for n in (p.a, p.b)})
    index = {n: i for i, n in enumerate(names)}
    labels = [n.split("/")[0] for n in names]
    embedded = [embed_centre_faces(FaceAnalyzer(profile=p), [data / "images" / n for n in names], cache_dir=cache)
                for p in members]
    found = embedded[0].found & embedded[1].found
    first, same, _ = score_pairs(train, index, embedded[0].embeddings, found)
    second, _, _ = score_pairs(train, index, embedded[1].embeddings, found)
    rows = []
    for weight in np.round(np.linspace(0.05, 0.95, 19), 2):
        fused = weight * first + (1 - weight) * second
        vectors = np.concatenate([embedded[0].embeddings * np.sqrt(weight),
                                  embedded[1].embeddings * np.sqrt(1 - weight)], axis=1)[found]
        scores = all_pair_scores(vectors, [label for label, ok in zip(labels, found, strict=True) if ok])
        rows.append({"first_weight": float(weight),
                     "devtrain_accuracy": float(np.mean((fused >= best_threshold(fused, same)) == same)),
                     "devtrain_fnmr_at_fmr_1e-3": float(np.mean(scores.genuine < threshold_at_fmr(scores.impostor,
                                                                                                  1e-3)))})
    best = max(rows, key=lambda r: (r["devtrain_accuracy"], -r["devtrain_fnmr_at_fmr_1e-3"]))
    return {"members": members, "grid": rows, "best_first_weight": best["first_weight"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", nargs="+", default=["default", "fast", "dlib", "fused"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, help="Reuse per-image embeddings stored in this folder.")
    parser.add_argument("--tune-fusion", action="store_true", help="Only pick the fused profile's weights on DevTrain.")
    args = parser.parse_args()
    if args.tune_fusion:
        print(json.dumps(tune_fusion(args.data, args.cache), indent=2))
        return
    results = [evaluate(FaceAnalyzer(profile=p), args.data, args.cache) for p in args.profiles]
    print(json.dumps({"benchmark": "lfw_view1_verification", "machine": platform.platform(),
                      "cpu_count": __import__("os").cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
