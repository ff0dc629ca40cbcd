"""Enrolment throughput, end to end: photo file -> decode -> detect -> quality gate -> embed -> duplicate and
identity checks -> database commit -> index update, for LFW View 1 people (all their photos in one `enroll` call),
into a SQLite gallery, at 1 and 2 threads. With `--gallery-size N` the gallery first holds N other faces (random unit
vectors written straight into the tables: enrolment cost depends on the index, not on whose faces these are), to
measure enrolment into a large gallery: the index is built once, and each enrolment then updates it in memory.

    .venv/bin/python benchmarks/gallery_enroll.py [--people 200] [--threads 1 2] [--gallery-size 1000000]

Prints one JSON document: photos, faces enrolled and refused, seconds, photos per second, median seconds per
`enroll` call; with a prefilled gallery also the seconds to build and save its index.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

from faceatlas import FaceAnalyzer
from faceatlas.eval.identities import load_identities
from faceatlas.gallery import Gallery
from faceatlas.gallery.schema import Collection, Sample, Subject

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1" / "images"


def prefill(gallery: Gallery, count: int) -> None:
    """`count` people of one random unit vector each, inserted in bulk."""
    rng = np.random.default_rng(0)
    model = gallery.analyzer.recogniser_card.id
    with gallery.engine.begin() as connection:
        collection = connection.scalar(select(Collection.id).where(Collection.name == gallery.collection_name))
        for start in range(0, count, 50_000):
            size = min(50_000, count - start)
            vectors = rng.standard_normal((size, gallery._ndim())).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            first = connection.execute(insert(Subject).values([
                {"collection_id": collection, "name": f"other-{start + i}", "meta": {}} for i in range(size)])
                .returning(Subject.id)).scalars().all()
            connection.execute(insert(Sample), [
                {"subject_id": subject, "collection_id": collection, "model_id": model, "embedding": v.tobytes(),
                 "quality": 1.0, "box": [], "source": ""} for subject, v in zip(first, vectors, strict=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gallery-size", type=int, default=0, help="other faces in the gallery beforehand")
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
            row: dict = {"threads": threads, "gallery_size": args.gallery_size}
            if args.gallery_size:
                prefill(gallery, args.gallery_size)
                start = time.perf_counter()
                gallery.rebuild_index()
                row["index_build_s"] = round(time.perf_counter() - start, 2)  # built and saved once
            photos = added = refused = 0
            calls = []
            start = time.perf_counter()
            for person in chosen:
                began = time.perf_counter()
                report = gallery.enroll(person, by_person[person], allow_identity_clash=True)
                calls.append(time.perf_counter() - began)
                photos += len(by_person[person])
                added += len(report.added)
                refused += len(report.rejected)
            seconds = time.perf_counter() - start
        rows.append({**row, "people": len(chosen), "photos": photos, "enrolled": added,
                     "refused": refused, "seconds": round(seconds, 2), "photos_per_s": round(photos / seconds, 2),
                     "median_s_per_enroll_call": round(float(np.median(calls)), 3)})
    print(json.dumps({"benchmark": "gallery_enroll", "machine": platform.platform(), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
