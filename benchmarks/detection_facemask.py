"""Small-face detection on the Kaggle Face Mask photos (../shared/data/facemask): recall, AP, FP/image, speed.

    .venv/bin/python benchmarks/detection_facemask.py [--data DIR] [--mosaic 3 6] [--threads 1] [--repeats 3]

Prints one JSON list of rows to stdout. Matching is at IoU 0.5, greedy in score order, each ground-truth box matched
at most once (duplicates are false positives). Ground-truth boxes whose shorter side is under `--min-face` pixels
(default 10, as the data's README suggests) are "ignore" regions: they count neither for recall nor, when a detection
lands on one, as a false positive; `recall_all` is the recall over every box, tiny ones included.

* `recall`, `fp_per_image`, `precision` and `ms_median` are at each configuration's operating score threshold;
  `ms_median` is the median over images of the fastest of `--repeats` runs (the machine may be shared).
* `ap` is VOC all-point-interpolated AP over every detection scoring at least `--ap-threshold` (0.05).
* Configurations "-S+tilesT" run the detector on the whole image at long side S plus, at long side T, on
  overlapping T-pixel tiles (native resolution); an image no larger than a tile is one tile, enlarged to T.
* The "facemask" photos are small (long side 400-600 px), so there is nothing to split there.
  "facemask-mosaicNxN" pastes N x N photos at native resolution onto one canvas (about 1200 px for N=3, 2400 px for
  N=6): large photos with small faces, where a detector's whole-image pass has to downscale and tiling can help.
  Its `fp_per_image` is per canvas (N*N photos).
* Rows with `"sweep": true` are YuNet at 640 re-scored at other score thresholds (exact: greedy NMS keeps the same
  boxes above a threshold whether lower-scoring boxes were present or not).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceatlas.detect import Detector, create_detector
from faceatlas.eval.detection import detection_metrics
from faceatlas.models import get_card

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "facemask"
YUNET, RETINAFACE = "yunet-2023mar-int8bq", "retinaface-mnet025"


@dataclass
class Sample:
    name: str
    bgr: np.ndarray
    boxes: np.ndarray  # (G, 4) xyxy


def load_facemask(root: Path) -> list[Sample]:
    by_image: dict[str, list[list[float]]] = defaultdict(list)
    with open(root / "boxes.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            by_image[row["image"]].append([float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")])
    samples = []
    for name in sorted(by_image):
        bgr = cv2.imread(str(root / name), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read {root / name}")
        samples.append(Sample(name, bgr, np.asarray(by_image[name], np.float32).reshape(-1, 4)))
    return samples


def mosaic(samples: list[Sample], n: int) -> list[Sample]:
    """Paste groups of n*n photos, unscaled, into an n x n grid (cells sized to the largest photo of their row and
    column, grey background); the last group may be partly empty."""
    out = []
    per = n * n
    for start in range(0, len(samples), per):
        group = samples[start : start + per]
        cells = [group[i : i + n] for i in range(0, len(group), n)]
        widths = [max(cells[r][c].bgr.shape[1] for r in range(len(cells)) if c < len(cells[r])) for c in range(n)
                  if any(c < len(row) for row in cells)]
        heights = [max(s.bgr.shape[0] for s in row) for row in cells]
        canvas = np.full((sum(heights), sum(widths), 3), 114, np.uint8)
        boxes = []
        for r, row in enumerate(cells):
            for c, sample in enumerate(row):
                x0, y0 = sum(widths[:c]), sum(heights[:r])
                h, w = sample.bgr.shape[:2]
                canvas[y0 : y0 + h, x0 : x0 + w] = sample.bgr
                boxes.append(sample.boxes + np.array([x0, y0, x0, y0], np.float32))
        out.append(Sample(f"mosaic{start // per}", canvas, np.concatenate(boxes)))
    return out


def evaluate(results: list[tuple[np.ndarray, np.ndarray]], samples: list[Sample], threshold: float,
             min_face: float, iou: float = 0.5) -> dict[str, float]:
    """The library's detection metrics (`faceatlas.eval.detection`), rounded for the table."""
    metrics = detection_metrics(results, [s.boxes for s in samples], threshold, min_face, iou)
    return {"ap": round(metrics["ap"], 4), "recall": round(metrics["recall"], 4),
            "recall_all": round(metrics["recall_all"], 4), "precision": round(metrics["precision"], 4),
            "fp_per_image": round(metrics["fp_per_image"], 3), "faces": metrics["faces"]}


def run(detector: Detector, samples: list[Sample], repeats: int = 1) -> tuple[list, float]:
    """Detections per sample and the median over images of the fastest of `repeats` runs, in ms (after a warm-up)."""
    detector.detect(samples[0].bgr)
    results, times = [], []
    for sample in samples:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            faces = detector.detect(sample.bgr)
            best = min(best, (time.perf_counter() - start) * 1000)
        times.append(best)
        results.append((faces.boxes, faces.scores))
    return results, float(np.median(times))


def configurations(threads: int, threshold: float | None) -> list[tuple[str, dict[str, object], Detector]]:
    """(name, options, detector): `tile` is the factory option (whole image at `input_size` plus `tile`-pixel tiles
    at native resolution, small images enlarged to one tile); the `small-faces` profile is `yunet-640+tiles1280`."""

    def make(card: str, size: int, tile: int = 0, score: float | None = None) -> Detector:
        options: dict[str, object] = {"input_size": size, "tile": tile}
        if score is not None:
            options["score_threshold"] = score
        return create_detector(get_card(card), threads, **options)

    rows = [(YUNET, 640, 0), (YUNET, 1280, 0), (YUNET, 640, 640), (YUNET, 640, 1280),
            (RETINAFACE, 640, 0), (RETINAFACE, 1280, 0), (RETINAFACE, 640, 1280)]
    return [(f"{'yunet' if card == YUNET else 'retinaface'}-{size}{f'+tiles{tile}' if tile else ''}",
             {"detector": card, "input_size": size, "tile": tile}, make(card, size, tile, threshold))
            for card, size, tile in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--mosaic", type=int, nargs="*", default=[3, 6], help="also evaluate N x N mosaics")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (0: let it choose)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per image (the fastest counts)")
    parser.add_argument("--min-face", type=float, default=10.0)
    parser.add_argument("--ap-threshold", type=float, default=0.05)
    parser.add_argument("--sweep", type=float, nargs="*",
                        default=[0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9])
    args = parser.parse_args()
    if not (args.data / "boxes.csv").is_file():
        raise SystemExit(f"no facemask data at {args.data}")

    photos = load_facemask(args.data)
    sets = [("facemask", photos)] + [(f"facemask-mosaic{n}x{n}", mosaic(photos, n)) for n in args.mosaic if n > 1]
    rows = []
    operating = configurations(args.threads, None)
    low = configurations(args.threads, args.ap_threshold)
    for data_name, samples in sets:
        for (name, info, detector), (_, _, loose) in zip(operating, low, strict=True):
            print(f"{data_name} {name}", file=sys.stderr)
            results, ms = run(detector, samples, args.repeats)
            loose_results, _ = run(loose, samples)
            threshold = float(getattr(detector, "score_threshold", 0.0))
            at_operating = evaluate(results, samples, threshold, args.min_face)
            rescored = evaluate(loose_results, samples, threshold, args.min_face)
            if rescored["recall"] != at_operating["recall"]:
                print(f"warning: {name}: re-scored recall {rescored['recall']} != {at_operating['recall']}",
                      file=sys.stderr)
            ap = evaluate(loose_results, samples, args.ap_threshold, args.min_face)["ap"]
            rows.append({"data": data_name, "images": len(samples), "config": name, **info,
                         "score_threshold": threshold, **at_operating, "ap": ap, "ms_median": round(ms, 1),
                         "threads": args.threads})
            if data_name == "facemask" and info["detector"] == YUNET and info["input_size"] == 640 \
                    and not info["tile"]:
                for t in args.sweep:
                    metrics = evaluate(loose_results, samples, t, args.min_face)
                    ap_above = metrics.pop("ap")
                    rows.append({"data": data_name, "config": f"{name}@{t:g}", "sweep": True,
                                 "score_threshold": t, **metrics, "ap_truncated": ap_above})
    json.dump(rows, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
