"""How fast `faceatlas library index` gets through a folder of full-size photos, against the same analysis in a plain
loop (no hashing, no database, no worker processes), and what a second run costs when nothing changed and when
every photo was moved.

    .venv/bin/python benchmarks/library_index.py [--rounds 2] [--workers 1 2]

Photos: every image under ../shared/data/{deepface_testset,face_recognition_examples,compreface_samples,facemask}
below 30 megapixels, linked (not copied) into a temporary folder. Systems, run back to back in each round in a
rotating order so machine noise hits them alike:

* ``library_wN``: `Library(fresh database, workers=N).index([folder])`, the default profile, quality head on:
  hashing, N worker processes of one ONNX thread each, one transaction per photo, then clustering.
* ``library_wN_thumbnails``: the same with the most workers and `keep_thumbnails=True` (a JPEG kept of each face).
* ``analyze_loop``: `FaceAnalyzer(threads=2, heads=["quality"]).analyze(path)` for each photo in this process.

Then, on the last library without thumbnails: a second run with nothing changed, a run asked to keep thumbnails
(every face indexed before gets one: the back-fill), and a run after the folder was renamed (every path new, every
content known). Prints one JSON document: per system the median seconds and photos per second, the database's size,
and the ratio of each library run to the loop (> 1: the library is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from faceatlas import FaceAnalyzer
from faceatlas.io.image import iter_image_paths
from faceatlas.organize import IndexReport, Library

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = ("deepface_testset", "face_recognition_examples", "compreface_samples", "facemask")
HUGE_MEGAPIXELS = 30.0


def photo_folder(target: Path) -> list[Path]:
    """Link the benchmark's photos into `target`; returns the links."""
    links = []
    for source in SOURCES:
        for path in sorted(iter_image_paths([DATA / source])):
            try:
                with Image.open(path) as image:
                    if image.width * image.height / 1e6 >= HUGE_MEGAPIXELS:
                        continue
            except OSError:
                continue  # not an image: the index would report it, the loop would fail on it
            link = target / f"{source}-{path.relative_to(DATA / source).as_posix().replace('/', '-')}"
            link.symlink_to(path)
            links.append(link)
    return links


def timed_index(folder: Path, database: Path, workers: int, keep_thumbnails: bool = False
                ) -> tuple[float, IndexReport]:
    library = Library(f"sqlite:///{database}", workers=workers)
    started = time.perf_counter()
    report = library.index([folder], keep_thumbnails=keep_thumbnails)
    return time.perf_counter() - started, report


def database_bytes(database: Path) -> int:
    """The SQLite file and its write-ahead log."""
    return sum(path.stat().st_size for path in database.parent.glob(f"{database.name}*"))


def timed_loop(photos: list[Path], analyzer: FaceAnalyzer) -> tuple[float, int]:
    started, faces = time.perf_counter(), 0
    for path in photos:
        faces += len(analyzer.analyze(path))
    return time.perf_counter() - started, faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        folder = root / "photos"
        folder.mkdir()
        photos = photo_folder(folder)
        analyzer = FaceAnalyzer(threads=2, heads=["quality"])
        timed_loop(photos[:3], analyzer)  # warm-up: model sessions
        workers = max(args.workers)
        systems = [f"library_w{w}" for w in args.workers] + [f"library_w{workers}_thumbnails", "analyze_loop"]
        seconds: dict[str, list[float]] = {name: [] for name in systems}
        faces: dict[str, int] = {}
        sizes: dict[str, int] = {}
        database = root / "none.db"
        for round_ in range(args.rounds):
            for name in systems[round_ % len(systems):] + systems[:round_ % len(systems)]:
                if name == "analyze_loop":
                    elapsed, faces[name] = timed_loop(photos, analyzer)
                else:
                    thumbnails = name.endswith("_thumbnails")
                    store = root / f"{name}-{round_}.db"
                    elapsed, report = timed_index(folder, store, int(name.split("_")[1][1:]), thumbnails)
                    faces[name] = report.faces
                    sizes[name] = database_bytes(store)
                    database = database if thumbnails else store
                seconds[name].append(elapsed)
                print(json.dumps({"round": round_, "system": name, "seconds": round(elapsed, 2)}), flush=True)
        unchanged, _ = timed_index(folder, database, workers)
        backfill, backfilled = timed_index(folder, database, workers, keep_thumbnails=True)
        moved = folder.rename(root / "moved")
        renamed, _ = timed_index(moved, database, workers)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(json.dumps({
        "benchmark": "library_index", "machine": platform.platform(), "cpus": os.cpu_count(),
        "photos": len(photos), "rounds": args.rounds,
        "systems": {name: {"median_seconds": round(median[name], 2), "photos_per_second": round(len(photos)
                                                                                                 / median[name], 2),
                           "faces": faces[name], "seconds": [round(s, 2) for s in seconds[name]],
                           **({"database_bytes": sizes[name]} if name in sizes else {})}
                    for name in systems},
        "speedup_vs_analyze_loop": {name: round(median["analyze_loop"] / median[name], 2) for name in systems
                                    if name != "analyze_loop"},
        "second_run_unchanged_seconds": round(unchanged, 2),
        "thumbnails_backfill_seconds": round(backfill, 2), "thumbnails_backfilled": backfilled.thumbnails_added,
        "second_run_after_moving_every_photo_seconds":
            round(renamed, 2)}, indent=1))


if __name__ == "__main__":
    main()
