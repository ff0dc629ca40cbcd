"""Enrolment throughput, end to end: photo file -> decode -> detect -> quality gate -> embed -> duplicate and
identity checks -> database commit -> index update, for LFW View 1 people (all their photos in one `enroll` call),
into a fresh SQLite gallery, at 1 and 2 threads.

    .venv/bin/python benchmarks/gallery_enroll.py [--people 200] [--threads 1 2]

Prints one JSON document: photos, faces enrolled and refused, seconds, photos per second.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from faceatlas import FaceAnalyzer
from faceatlas.eval.identities import load_identities
from faceatlas.gallery import Gallery

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    by_person: dict[str, list[Path]] = defaultdict(list)
    for path, person in load_identities(LFW):
        by_person[person].append(path)
    chosen = sorted(by_person)[: args.people]
    rows = []
    for threads in args.threads:
        with tempfile.TemporaryDirectory() as folder:
            gallery = Gallery(f"sqlite:///{folder}/g.db", analyzer=FaceAnalyzer(threads=threads))
            gallery.enroll("warm-up", by_person[chosen[0]][:1])  # load the models outside the timing
            gallery.erase("warm-up")
            photos = added = refused = 0
            start = time.perf_counter()
            for person in chosen:
                report = gallery.enroll(person, by_person[person], allow_identity_clash=True)
                photos += len(by_person[person])
                added += len(report.added)
                refused += len(report.rejected)
            seconds = time.perf_counter() - start
        rows.append({"threads": threads, "people": len(chosen), "photos": photos, "enrolled": added,
                     "refused": refused, "seconds": round(seconds, 2), "photos_per_s": round(photos / seconds, 2)})
    print(json.dumps({"benchmark": "gallery_enroll", "machine": platform.platform(), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
