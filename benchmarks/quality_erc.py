"""Does the quality score predict recognition error? Error-versus-reject curves on LFW View 1 DevTest (unseen when the
head was fitted), its photos alone and with degraded copies of each (`eval.degrade`: blur, a very small face, an
occluder over the eyes, dark and noisy, a tiny heavily compressed JPEG): FNMR at SFace's FMR 1e-3 threshold over the
pairs of pictures kept (two pictures made from one photo are not a pair) as the lowest-scoring fraction is rejected,
for the quality head, the head it replaced (`baselines/quality-linear-v1.json`), face size alone (eye distance) and
the embedding norm alone; the area under each curve; the pictures the default gate refuses by kind, and how often
what it keeps and what it refuses match another photo of the person (against the old score and gate, 0.3); and an
ablation: the head refitted on DevTrain without each signal in turn.

    .venv/bin/python benchmarks/quality_erc.py [--cache DIR]

Prints one JSON document. The pipeline's signals of the 16,180 pictures take about 12 minutes on 2 cores: with
--cache they are kept there and read back.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.config import get_settings
from faceatlas.eval.degrade import DEGRADATIONS, with_degraded_copies
from faceatlas.eval.pairs import read_pairs
from faceatlas.eval.quality import (
    QualitySamples,
    area_under,
    collect,
    error_versus_reject,
    fit_quality_model,
    match_outcomes,
)
from faceatlas.pipeline import calibrated_threshold
from faceatlas.quality.features import FEATURES
from faceatlas.quality.head import quality_scores
from faceatlas.quality.model import expand, match_probability

HERE = Path(__file__).resolve().parent
LFW = HERE.parents[1] / "shared" / "data" / "lfw_view1"
MIXED_FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
CLEAN_FRACTIONS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


def signals(split: str, every_kind: bool, analyzer: FaceAnalyzer, cache: Path | None
            ) -> tuple[QualitySamples, list[str], list[str], list[str]]:
    """The pictures of a split (photos and degraded copies) through the pipeline: samples, people, photos, kinds."""
    names = sorted({n for p in read_pairs(LFW / f"pairsDev{split}.txt") for n in (p.a, p.b)})
    made = with_degraded_copies([LFW / "images" / n for n in names], every_kind)
    people = [Path(photo).parent.name for photo in made.photos]
    stored = cache / f"quality-{split}-{'every' if every_kind else 'one'}.npz" if cache else None
    if stored and stored.exists():
        arrays = np.load(stored)
        samples = QualitySamples(arrays["features"], arrays["norms"], arrays["embeddings"], arrays["found"])
    else:
        samples = collect(analyzer, made.images)
        if stored:
            stored.parent.mkdir(parents=True, exist_ok=True)
            np.savez(stored, features=samples.features, norms=samples.norms, embeddings=samples.embeddings,
                     found=samples.found)
    return samples, people, made.photos, made.kinds


def v1_scores(features: np.ndarray) -> np.ndarray:
    """The quality head before this one: a ridge model of mean genuine similarity, mapped to [0, 1]."""
    model = json.loads((HERE / "baselines" / "quality-linear-v1.json").read_text())
    standard = (expand(features) - np.asarray(model["mean"])) / np.asarray(model["std"])
    raw = standard @ np.asarray(model["coefficients"]) + model["intercept"]
    low, high = model["output_range"]
    return np.clip((raw - low) / (high - low), 0.0, 1.0)


def curve(samples: QualitySamples, people: list[str], photos: list[str], keep: np.ndarray, score: np.ndarray,
          threshold: float, fractions: tuple[float, ...]) -> dict:
    chosen = keep & samples.found
    rows = error_versus_reject(samples.embeddings[chosen], [p for p, k in zip(people, chosen, strict=True) if k],
                               score[chosen], threshold, fractions, [p for p, k in zip(photos, chosen, strict=True)
                                                                     if k])
    at_10 = next(r["fnmr"] for r in rows if r["rejected_fraction"] == 0.1)
    return {"area": round(area_under(rows), 5), "fnmr_after_dropping_10pct": round(at_10, 5),
            "curve": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()} for r in rows]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, help="keep the pipeline's signals here, and read them back")
    args = parser.parse_args()
    analyzer = FaceAnalyzer()
    threshold = calibrated_threshold(analyzer.recogniser_card, 1e-3)
    test, people, photos, kinds = signals("Test", True, analyzer, args.cache)
    kind = np.asarray(kinds)
    with_norm = np.column_stack([test.features, test.norms])
    scores = {"quality": quality_scores(test.features, test.norms, analyzer.recogniser_card.id),
              "quality_v1": v1_scores(test.features),
              "face_size": test.features[:, FEATURES.index("log_eye_distance")],
              "embedding_norm": test.norms}
    everything = np.ones(len(kinds), bool)
    report: dict = {"benchmark": "quality_erc", "machine": platform.platform(), "threshold": threshold, "fmr": 1e-3,
                    "pictures": {k: int((kind == k).sum()) for k in ("clean", *DEGRADATIONS)},
                    "faces_found": int(test.found.sum())}
    report["with_degraded_copies"] = {name: curve(test, people, photos, everything, s, threshold, MIXED_FRACTIONS)
                                      for name, s in scores.items()}
    report["photos_only"] = {name: curve(test, people, photos, kind == "clean", s, threshold, CLEAN_FRACTIONS)
                             for name, s in scores.items()}
    gate = get_settings().min_quality
    report["refused_by_the_gate"] = {
        "gate": gate, "old_gate": 0.3,
        "by_kind": {k: {"pictures": int(((kind == k) & test.found).sum()),
                        "refused": round(float(np.mean(scores["quality"][(kind == k) & test.found] < gate)), 4),
                        "refused_by_old_score_and_gate": round(float(np.mean(
                            scores["quality_v1"][(kind == k) & test.found] < 0.3)), 4)}
                    for k in ("clean", *DEGRADATIONS)}}
    rows, matched = match_outcomes(test.embeddings, people, photos, test.found & (kind == "clean"), threshold)
    rows, matched = rows[test.found[rows]], matched[test.found[rows]]
    copy = kind[rows] != "clean"
    report["how_often_what_the_gate_keeps_matches"] = {  # per pair with another (clean) photo of the person
        name: {part: {"kept": {"pairs": int((where & (s[rows] >= g)).sum()),
                               "matched": round(float(matched[where & (s[rows] >= g)].mean()), 4)},
                      "refused": {"pairs": int((where & (s[rows] < g)).sum()),
                                  "matched": round(float(matched[where & (s[rows] < g)].mean()), 4)
                                  if (where & (s[rows] < g)).any() else None}}
               for part, where in (("photos", ~copy), ("degraded_copies", copy))}
        for name, s, g in (("quality", scores["quality"], gate), ("quality_v1", scores["quality_v1"], 0.3))}
    train, train_people, train_photos, train_kinds = signals("Train", False, analyzer, args.cache)
    reference = train.found & (np.asarray(train_kinds) == "clean")
    rows, matched = match_outcomes(train.embeddings, train_people, train_photos, reference, threshold)
    rows, matched = rows[train.found[rows]], matched[train.found[rows]]
    names = [*FEATURES, "embedding_norm"]
    train_inputs = np.column_stack([train.features, train.norms])
    ablation = {}
    for left_out in ("none", *names):
        columns = [i for i, name in enumerate(names) if name != left_out]
        model = fit_quality_model(train_inputs[:, columns], rows, matched, [names[i] for i in columns])
        score = match_probability(model, with_norm[:, columns])
        ablation[left_out] = curve(test, people, photos, everything, score, threshold, MIXED_FRACTIONS)["area"]
    report["ablation_area_without"] = ablation
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
