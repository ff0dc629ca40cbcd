"""Throughput on LFW-size photos (250x250, one face each): FaceAtlas vs raw OpenCV vs face_recognition, side by side.

Systems, each timed over the whole set of photos per round (from file paths to one embedding per face found):

* ``faceatlas``: ``FaceAnalyzer(threads=t).shots(paths)``, the default profile as ``faceatlas analyze --embed`` runs
  it (pictures batched: one recogniser run for the faces and mirrors of a batch).
* ``faceatlas_per_image``: ``[analyzer.analyze(p) for p in paths]``: one image per call, as an API user calls it.
* ``faceatlas_fast``: the ``fast`` profile through ``shots`` (YuNet + SFace once each: OpenCV's work).
* ``opencv``: ``cv2.imread`` -> ``cv2.FaceDetectorYN`` at the image's size -> ``FaceRecognizerSF.alignCrop`` +
  ``feature``, on the same model files, ``cv2.setNumThreads(t)``.
* ``face_recognition``: ``load_image_file`` -> ``face_locations`` (HOG, upsample 1) -> ``face_encodings``: its
  defaults; dlib has no thread setting and runs on one core.

Every round runs every system once over all the photos, in an order that rotates from round to round; throughput is
the median over rounds, ratios the median of per-round ratios. The per-stage breakdown (decode, detect with landmark
refinement, embed, heads; milliseconds per image, medians) comes from the pipeline's own `Shot.ms`.

    .venv/bin/pip install --no-deps face-recognition==1.3.0      # once (dlib comes with faceatlas[dlib])
    .venv/bin/python benchmarks/lfw_throughput.py --images 200 --rounds 5 > lfw-throughput.json

Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
LFW = REPO.parent / "shared" / "data" / "lfw_view1"
SCORE_THRESHOLD, NMS_IOU = 0.6, 0.3

Run = Callable[[list[Path]], int]
"""Analyses every photo of the list, returns the faces embedded."""


def lfw_photos(count: int) -> list[Path]:
    """The first `count` distinct photos of the LFW View 1 DevTest pairs, by name."""
    from faceatlas.eval.pairs import read_pairs

    names = sorted({name for pair in read_pairs(LFW / "pairsDevTest.txt") for name in (pair.a, pair.b)})
    return [LFW / "images" / name for name in names[:count]]


def faceatlas_stream(threads: int, profile: str, stages: list[dict[str, float]]) -> Run:
    from faceatlas import FaceAnalyzer

    analyzer = FaceAnalyzer(profile=profile, threads=threads)

    def run(paths: list[Path]) -> int:
        faces = 0
        for shot in analyzer.shots(paths):
            faces += len(shot.faces)
            stages.append(shot.ms)
        return faces

    return run


def faceatlas_per_image(threads: int) -> Run:
    from faceatlas import FaceAnalyzer

    analyzer = FaceAnalyzer(threads=threads)
    return lambda paths: sum(len(analyzer.analyze(path)) for path in paths)


def opencv(threads: int) -> Run:
    from faceatlas.models.registry import get_card
    from faceatlas.models.store import resolve

    detector = cv2.FaceDetectorYN.create(str(resolve(get_card("yunet-2023mar-int8bq"))), "", (320, 320),
                                         SCORE_THRESHOLD, NMS_IOU, 5000)
    recogniser = cv2.FaceRecognizerSF.create(str(resolve(get_card("sface-2021dec-int8bq"))), "")

    def run(paths: list[Path]) -> int:
        cv2.setNumThreads(threads)
        faces = 0
        for path in paths:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            detector.setInputSize((image.shape[1], image.shape[0]))
            _, found = detector.detect(image)
            for row in [] if found is None else found:
                recogniser.feature(recogniser.alignCrop(image, row))
                faces += 1
        return faces

    return run


def face_recognition_run() -> Run:
    import face_recognition

    def run(paths: list[Path]) -> int:
        faces = 0
        for path in paths:
            image = face_recognition.load_image_file(str(path))
            faces += len(face_recognition.face_encodings(image, face_recognition.face_locations(image)))
        return faces

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--systems", nargs="+", default=["faceatlas", "faceatlas_per_image", "faceatlas_fast",
                                                          "opencv", "face_recognition"])
    args = parser.parse_args()
    paths = lfw_photos(args.images)
    stages: dict[str, list[dict[str, float]]] = {}
    systems: dict[str, Run] = {}
    for t in args.threads:
        if "faceatlas" in args.systems:
            systems[f"faceatlas@{t}"] = faceatlas_stream(t, "default", stages.setdefault(f"faceatlas@{t}", []))
        if "faceatlas_per_image" in args.systems:
            systems[f"faceatlas_per_image@{t}"] = faceatlas_per_image(t)
        if "faceatlas_fast" in args.systems:
            systems[f"faceatlas_fast@{t}"] = faceatlas_stream(t, "fast", stages.setdefault(f"faceatlas_fast@{t}", []))
        if "opencv" in args.systems:
            systems[f"opencv@{t}"] = opencv(t)
    if "face_recognition" in args.systems:
        systems["face_recognition"] = face_recognition_run()
    for run in systems.values():  # warm-up: models loaded, caches filled
        run(paths[:5])
    for recorded in stages.values():
        recorded.clear()
    rates: dict[str, list[float]] = {name: [] for name in systems}
    faces: dict[str, int] = {}
    names = list(systems)
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            started = time.perf_counter()
            faces[name] = systems[name](paths)
            rates[name].append(len(paths) / (time.perf_counter() - started))
            print(f"round {r + 1}: {name} {rates[name][-1]:.2f} images/s", file=sys.stderr)
    result = {
        "benchmark": "lfw_throughput", "images": len(paths), "rounds": args.rounds,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "loadavg_1_5_15": os.getloadavg()},
        "images_per_second": {name: {"median": round(statistics.median(v), 3), "min": round(min(v), 3),
                                     "max": round(max(v), 3)} for name, v in rates.items()},
        "faces": faces,
        "ratios_to_face_recognition": {name: round(statistics.median(np.array(v) / np.array(
            rates["face_recognition"])), 3) for name, v in rates.items() if "face_recognition" in rates},
        "stage_ms_per_image_median": {name: {stage: round(statistics.median(s.get(stage, 0.0) for s in recorded), 3)
                                             for stage in ("decode", "detect", "embed", "heads")}
                                      for name, recorded in stages.items()},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
