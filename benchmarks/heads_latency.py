"""Latency of each attribute head per face, and of a whole `analyze` with every head on a 640x480 photo with one
face, at 1 and 2 threads; the same analysis without heads is timed alongside as the baseline, and
`cli_analyze_attributes` is what `faceatlas analyze --attributes` runs (detection, landmark refinement, heads; no
embedding unless --embed).

    .venv/bin/python benchmarks/heads_latency.py [--repeats 50] [--threads 1 2]

Prints one JSON document. Times are medians over `--repeats` runs after warm-up, interleaved (baseline, full, each
head) so machine noise hits them alike; `p90_ms` shows the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import cv2
import numpy as np
from skimage import data

from faceatlas import FaceAnalyzer
from faceatlas.attributes import HEADS, create_head


def photo() -> np.ndarray:
    """The astronaut (512x512) on a 640x480 canvas: one face, a common webcam frame size."""
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[:, 64:576] = cv2.resize(astronaut, (512, 480))
    return canvas


def measure(threads: int, repeats: int) -> dict:
    bgr = photo()
    baseline = FaceAnalyzer(threads=threads)
    full = FaceAnalyzer(threads=threads, heads=HEADS)
    faces = baseline.detect(bgr)
    heads = {name: create_head(name, threads) for name in HEADS}
    jobs = {"analyze_without_heads": lambda: baseline.analyze(bgr),
            "analyze_with_all_heads": lambda: full.analyze(bgr),
            "cli_analyze_attributes": lambda: full.analyze(bgr, embed=False),  # `faceatlas analyze --attributes`
            **{f"head_{name}_per_face": (lambda head=head: head.predict(bgr, faces)) for name, head in heads.items()}}
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(3):
        for job in jobs.values():
            job()
    for _ in range(repeats):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            samples[name].append((time.perf_counter() - start) * 1000)
    rows = {name: {"median_ms": round(float(np.median(v)), 2), "p90_ms": round(float(np.percentile(v, 90)), 2)}
            for name, v in samples.items()}
    rows["heads_added_ms"] = round(rows["analyze_with_all_heads"]["median_ms"]
                                   - rows["analyze_without_heads"]["median_ms"], 2)
    return {"threads": threads, "faces": len(faces), **rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    results = [measure(t, args.repeats) for t in args.threads]
    print(json.dumps({"benchmark": "heads_latency", "machine": platform.platform(), "cpus": os.cpu_count(),
                      "loadavg": os.getloadavg(), "image": "640x480, one face", "results": results}, indent=1))


if __name__ == "__main__":
    main()
