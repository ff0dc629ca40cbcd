"""Recognisers side by side, same machine, same run: the default profile against InsightFace's research pack.

For each profile, through the full pipeline on LFW View 1's raw images (the face nearest the centre):
- DevTest accuracy with the threshold chosen on DevTrain (the View 1 protocol), and its errors; and 10-fold on
  DevTest (each fold's threshold from the other nine, as `faceatlas eval verify` and the README's LFW table);
- TAR at FMR 1e-3 on DevTest's pairs at the recogniser's calibrated threshold, and FNMR at FMR 1e-3 / 1e-4 / 1e-5
  from the calibration table (all 12.4M impostor pairs of the 4,992 images);
- identification over the same images (`faceatlas eval identify --identities`: first image of each person
  enrolled, the others probes, people with one image non-mated probes): rank-1 and FNIR at FPIR 1e-2;
- images per second: `FaceAnalyzer.analyze` on the same `--speed-images` images (decode, detect, embed), profiles
  interleaved over `--rounds` rounds, median.
The research profiles need `faceatlas models accept-licence insightface-non-commercial`. Prints one JSON document.

    python benchmarks/recognisers.py [--profiles default research ...] [--cache DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from lfw_verification import evaluate
from reporting import emit, machine

from faceatlas import FaceAnalyzer
from faceatlas.eval.harness import identification_split, run_identify

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1"
PROFILES = ("default", "research", "research-scrfd", "research-fused")


def verification(analyzer: FaceAnalyzer, cache: Path | None) -> dict:
    """View 1's protocol (`lfw_verification.evaluate`), and the FNMR of the card's calibration table."""
    calibration = analyzer.recogniser_card.calibration
    return {**evaluate(analyzer, DATA, cache),
            "fnmr_all_pairs": {f"{r.fmr:g}": r.fnmr for r in calibration.rows} if calibration else None,
            "calibrated_range": list(calibration.fmr_range) if calibration else None}


def identification(analyzer: FaceAnalyzer, cache: Path | None) -> dict:
    metrics = run_identify(analyzer, identification_split(None, None, None, DATA / "images"), cache=cache)["metrics"]
    at_1e2 = next(r for r in metrics["fnir_at_fpir"] if r["fpir"] == 1e-2)
    return {"gallery": metrics["gallery_identities"], "mated_probes": metrics["mated_probes"],
            "nonmated_probes": metrics["nonmated_probes"], "rank1": round(metrics["rank1"], 4),
            "fnir_at_fpir_1e-2": round(at_1e2["fnir"], 4), "fnir_reliable": at_1e2["reliable"]}


def speeds(analyzers: dict[str, FaceAnalyzer], images: list[Path], rounds: int) -> dict[str, dict]:
    """Images per second of `analyze` per profile, interleaved round by round (after one warm-up image each)."""
    runs: dict[str, list[float]] = {name: [] for name in analyzers}
    for analyzer in analyzers.values():
        analyzer.analyze(images[0])
    for _ in range(rounds):
        for name, analyzer in analyzers.items():
            started = time.perf_counter()
            for image in images:
                analyzer.analyze(image)
            runs[name].append(len(images) / (time.perf_counter() - started))
    default = statistics.median(runs["default"]) if "default" in runs else None
    return {name: {"images_per_s": round(statistics.median(r), 2), "runs": [round(x, 2) for x in r],
                   "ratio_to_default": round(statistics.median(r) / default, 3) if default else None}
            for name, r in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES))
    parser.add_argument("--cache", type=Path, help="Per-image embedding cache shared with `faceatlas eval`.")
    parser.add_argument("--speed-images", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    analyzers = {name: FaceAnalyzer(profile=name) for name in args.profiles}
    results = {name: {"detector": a.detector_card.id, "refiner": a.refiner_card.id if a.refiner_card else None,
                      "recogniser": a.recogniser_card.id, "flip": a.flip, "licences": list(a.licences),
                      **verification(a, args.cache), "identification": identification(a, args.cache)}
               for name, a in analyzers.items()}
    every = sorted((DATA / "images").rglob("*.jpg"))
    images = every[:: max(1, len(every) // args.speed_images)][: args.speed_images]
    for name, speed in speeds(analyzers, images, args.rounds).items():
        results[name]["speed"] = speed
    emit({"benchmark": "recognisers", "machine": machine(), "data": str(DATA), "results": results}, args.out)


if __name__ == "__main__":
    main()
