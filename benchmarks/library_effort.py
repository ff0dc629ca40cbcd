"""How many answers a person gives to name every face of a library, through the library's own review loop, against
confirming every face and naming every cluster by hand.

    .venv/bin/python benchmarks/library_effort.py [--cache DIR] [--sets lfw deepface] [--lfw-min-photos 1 3 5]

A simulated user knows who everyone is. Each step the library asks one thing and the user answers it, looking at the
cluster's sample face as a person would: the top of the review queue ("is cluster 7 Alice?": yes, no, or the right name
when that person is already named), or, with the queue empty, the biggest unnamed cluster ("who is this?": a name).
After each answer: the fraction of faces labelled, precision (labels that are right) and recall (faces labelled
rightly). Sets: LFW View 1 (the centre face of its 4,992 images, 3,095 people; embeddings and quality scores written to
the library's database) and deepface_testset (the 61 photos of identities.csv indexed by `library index`; the largest
face of each is that identity; other faces cost answers but are not scored). The lower bound shown is the number of
people whose faces make up 95 % of the faces: one answer per person is needed at least. With `--lfw-min-photos K`,
LFW is also run on its people with K or more photos there, to show how the saving grows with photos per person (as
in a family library, where few people recur often).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from library_clustering import LFW, every_face, pair_images  # this script's folder is on sys.path
from sqlalchemy import select
from sqlalchemy.orm import Session

from faceatlas.gallery.schema import Subject
from faceatlas.organize import Library
from faceatlas.organize.schema import LibraryCluster, LibraryFace, LibraryFile, LibraryPath

DEEPFACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "deepface_testset"


@functools.cache
def lfw_centre_faces(cache: Path | None) -> tuple[list[Path], dict[str, np.ndarray]]:
    """LFW View 1's images and the face nearest each one's centre (the one LFW labels), as the library's index finds
    it: embedding, quality and image number (worked out once per run, however many subsets are simulated)."""
    from faceatlas import FaceAnalyzer

    train, test = pair_images(LFW / "pairsDevTrain.txt"), pair_images(LFW / "pairsDevTest.txt")
    paths = train + [p for p in test if p not in set(train)]
    indexed = every_face(FaceAnalyzer(heads=["quality"]), paths, cache)
    return paths, {key: indexed[key][indexed["centre"]] for key in ("embeddings", "quality", "photo")}


def lfw_library(folder: Path, cache: Path | None, min_photos: int = 1) -> tuple[Library, dict[int, str]]:
    """A library holding the centre faces of LFW View 1's people with at least `min_photos` photos there (written
    straight to its database) and each face's person."""
    paths, centre = lfw_centre_faces(cache)
    photos_of = Counter(paths[i].parent.name for i in centre["photo"])
    library = Library(f"sqlite:///{folder / 'gallery.db'}")
    truth = {}
    with Session(library.gallery.engine) as session:
        for i, embedding, quality in zip(centre["photo"], centre["embeddings"], centre["quality"], strict=True):
            if photos_of[paths[i].parent.name] < min_photos:
                continue
            record = LibraryFile(collection_id=library.gallery.collection_id, sha256=f"{i:064d}", size=1, faces=1)
            session.add(record)
            session.flush()
            session.add(LibraryPath(collection_id=library.gallery.collection_id, path=str(paths[i]),
                                    file_id=record.id, size=1, mtime_ns=1))
            face = LibraryFace(collection_id=library.gallery.collection_id, file_id=record.id, box=[0, 0, 1, 1],
                               detection_score=1.0, quality=float(quality),
                               embedding=np.asarray(embedding, np.float32).tobytes())
            session.add(face)
            session.flush()
            truth[face.id] = paths[i].parent.name
        session.commit()
    library.labelling.update()
    return library, truth


def deepface_library(folder: Path) -> tuple[Library, dict[int, str]]:
    """deepface_testset's labelled photos (linked into `folder`) indexed as a library; truth for the largest face
    of each."""
    photos = folder / "photos"
    photos.mkdir()
    identity = {}
    with open(DEEPFACE / "identities.csv") as handle:
        for row in csv.DictReader(handle):
            link = photos / row["file"].replace("/", "_")
            link.symlink_to(DEEPFACE / row["file"])
            identity[str(link)] = row["identity_id"]
    library = Library(f"sqlite:///{folder / 'gallery.db'}")
    library.index([photos])
    truth = {}
    with Session(library.gallery.engine) as session:
        rows = session.execute(select(LibraryFace.id, LibraryFace.box, LibraryPath.path)
                               .join(LibraryPath, LibraryPath.file_id == LibraryFace.file_id)).all()
    largest: dict[str, tuple[float, int]] = {}
    for face_id, box, path in rows:
        area = (box[2] - box[0]) * (box[3] - box[1])
        if path in identity and area > largest.get(path, (0, 0))[0]:
            largest[path] = (area, face_id)
    for path, (_, face_id) in largest.items():
        truth[face_id] = identity[path]
    return library, truth


def labels(library: Library) -> dict[int, str | None]:
    """Each face's name, None while its cluster is unnamed."""
    with Session(library.gallery.engine) as session:
        return dict(session.execute(
            select(LibraryFace.id, Subject.name).outerjoin(LibraryCluster, LibraryFace.cluster_id == LibraryCluster.id)
            .outerjoin(Subject, LibraryCluster.subject_id == Subject.id)).all())


def who_is(library: Library, cluster: int, truth: dict[int, str]) -> str:
    """Who the user says a cluster is: the person of its sample face (its best quality, as `people` and `review`
    show it), or, where that face has no ground truth, the person most of its other faces are."""
    with Session(library.gallery.engine) as session:
        rows = session.execute(select(LibraryFace.id, LibraryFace.quality).where(LibraryFace.cluster_id == cluster)
                               .order_by(LibraryFace.id)).all()
    sample = max(rows, key=lambda row: -1.0 if row[1] is None else row[1])[0]
    if sample in truth:
        return truth[sample]
    known = Counter(truth[face] for face, _ in rows if face in truth)
    return known.most_common(1)[0][0] if known else f"unknown-{cluster}"


def simulate(library: Library, truth: dict[int, str]) -> dict:
    """The review loop with a user who knows everyone; the curve of answers against labelled faces."""
    named: set[str] = set()
    curve, answers, asked = [], 0, Counter()
    started = time.perf_counter()
    while True:
        queue = library.review(limit=1)
        if queue:
            item = queue[0]
            who = who_is(library, item.cluster, truth)
            reply = "yes" if who == item.name else who if who in named else "no"
            library.answer(item, reply)
            asked["review"] += 1
            if reply != "no":
                named.add(who)
        else:
            unnamed = library.people(limit=1, named=False)
            if not unnamed:
                break
            cluster = unnamed[0]["cluster"]
            who = who_is(library, cluster, truth)
            library.name(cluster, who)
            asked["name"] += 1
            named.add(who)
        answers += 1
        given = labels(library)
        judged = [face for face in truth if given.get(face)]
        right = sum(given[face] == truth[face] for face in judged)
        curve.append({"answers": answers, "labelled": round(len(judged) / len(truth), 4),
                      "precision": round(right / max(len(judged), 1), 4), "recall": round(right / len(truth), 4)})
    reached = next((point for point in curve if point["recall"] >= 0.95 and point["precision"] >= 0.99), None)
    sizes = sorted(Counter(truth.values()).values(), reverse=True)
    bound = int(np.searchsorted(np.cumsum(sizes), 0.95 * len(truth)) + 1)
    return {"faces": len(truth), "people": len(sizes), "answers_total": answers, "answers_by_kind": dict(asked),
            "at_target": reached, "confirm_every_face": len(truth),
            "fewer_than_confirming_every_face": round(len(truth) / reached["answers"], 2) if reached else None,
            "lower_bound_one_answer_per_person_for_95pc": bound,
            "seconds": round(time.perf_counter() - started, 1),
            "curve": curve[:: max(1, len(curve) // 200)] + curve[-1:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache folder (see faceatlas eval)")
    parser.add_argument("--sets", nargs="+", default=["deepface", "lfw"], choices=["deepface", "lfw"])
    parser.add_argument("--lfw-min-photos", type=int, nargs="+", default=[1],
                        help="also run LFW on its people with at least this many photos (1: everyone)")
    args = parser.parse_args()
    runs = [("deepface", 0)] * ("deepface" in args.sets) + [
        ("lfw" if k == 1 else f"lfw_people_with_{k}_or_more_photos", k) for k in args.lfw_min_photos
        if "lfw" in args.sets]
    results = {}
    for name, min_photos in runs:
        with tempfile.TemporaryDirectory() as folder:
            library, truth = (deepface_library(Path(folder)) if name == "deepface"
                              else lfw_library(Path(folder), args.cache, min_photos))
            clusters = len(library.people())
            results[name] = {"clusters": clusters, **simulate(library, truth)}
            print(json.dumps({name: {k: v for k, v in results[name].items() if k != "curve"}}), flush=True)
    print(json.dumps({"benchmark": "library_effort", "machine": platform.platform(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
