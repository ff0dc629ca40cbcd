"""How long one step of `faceatlas library review` takes in a large library: the question (the review queue's top,
or, once it is empty, the biggest unnamed cluster, as `review --unnamed` asks; the first of a session reads every
embedding, the next ones only what changed) and the answer (naming that cluster), against reading the face rows every
question needs with the plain `sqlite3` module (a floor).

    .venv/bin/python benchmarks/library_review.py [--faces 100000] [--named 200] [--rounds 7]

The library is synthetic: `--faces` faces of people whose photo counts follow a Zipf law (as in
`library_clustering.py`), two photos of one person about as similar as LFW's genuine pairs, three faces a file, in a
temporary SQLite gallery; it is clustered once, then the `--named` biggest clusters are named. Each round opens
the library afresh and times two questions and their answers, an unnamed-cluster question, then the plain read.
Prints one JSON document: medians in seconds and the ratio of each step to the plain read.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import tempfile
from pathlib import Path

import numpy as np
from library_clustering import synthetic_library, timed  # this script's folder is on sys.path
from sqlalchemy import insert

from faceatlas.organize.library import Library
from faceatlas.organize.schema import LibraryFace, LibraryFile, LibraryPath

FACES_PER_FILE = 3
GENUINE = 0.6  # mean similarity of two photos of one person (LFW's genuine pairs: 0.6 with SFace)


def build(library: Library, faces: int, rng: np.random.Generator) -> None:
    """Write `faces` synthetic faces into the library's tables, `FACES_PER_FILE` to a file."""
    collection = library.gallery.collection_id
    ndim = int(library.gallery.analyzer.recogniser_card.embedding_dim or 128)
    vectors, _ = synthetic_library(np.zeros(ndim), np.eye(ndim), faces, GENUINE, rng)  # people in any direction
    vectors = vectors[rng.permutation(faces)]  # their photos in no order
    files = (faces + FACES_PER_FILE - 1) // FACES_PER_FILE
    with library.gallery.engine.begin() as connection:
        connection.execute(insert(LibraryFile), [
            {"id": f + 1, "collection_id": collection, "sha256": f"{f:064x}", "size": 1, "faces": FACES_PER_FILE}
            for f in range(files)])
        connection.execute(insert(LibraryPath), [
            {"collection_id": collection, "path": f"/photos/{f:07d}.jpg", "file_id": f + 1, "size": 1, "mtime_ns": 0}
            for f in range(files)])
        connection.execute(insert(LibraryFace), [
            {"collection_id": collection, "file_id": i // FACES_PER_FILE + 1, "box": [0.0, 0.0, 50.0, 50.0],
             "detection_score": 0.9, "quality": float(rng.uniform(0.1, 1.0)), "embedding": vectors[i].tobytes()}
            for i in range(faces)])


def plain_read(database: Path, collection: int) -> None:
    """The face rows every review step needs (id, file, cluster), with the `sqlite3` module into NumPy."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT id, file_id, coalesce(cluster_id, -1) FROM library_faces "
                                  "WHERE collection_id = ? ORDER BY id", (collection,)).fetchall()
    np.array(rows, np.int64)


def next_question(library: Library) -> int:
    """What `review --unnamed` reads for its next question (as the CLI does): the top of the review queue, else the
    biggest unnamed cluster. Returns an unnamed cluster to answer with a name."""
    queue = library.review(1)
    return queue[0].cluster if queue else library.people(1, named=False)[0]["cluster"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--named", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "gallery.db"
        library = Library(f"sqlite:///{database}", workers=1)
        build(library, args.faces, np.random.default_rng(args.faces))
        _, cluster_seconds = timed(library.labelling.update)
        for k, person in enumerate(library.people(args.named, named=False)):
            library.name(person["cluster"], f"person {k}")
        steps: dict[str, list[float]] = {"first_question": [], "question": [], "unnamed_question": [], "answer": [],
                                         "plain_read": []}
        for round_ in range(args.rounds):
            library = Library(f"sqlite:///{database}", workers=1)  # a new review session: its first question
            for step in ("first_question", "question"):
                cluster, question = timed(next_question, library)
                steps[step].append(question)
                _, answer = timed(library.name, cluster, f"answered {round_} {step}")
                steps["answer"].append(answer)
            steps["unnamed_question"].append(timed(library.people, 1, False)[1])  # once the queue is empty
            steps["plain_read"].append(timed(plain_read, database, library.gallery.collection_id)[1])
        medians = {step: statistics.median(seconds) for step, seconds in steps.items()}
        print(json.dumps({"benchmark": "library_review", "machine": platform.platform(), "faces": args.faces,
                          "named": args.named, "rounds": args.rounds, "clusters": len(library.people()),
                          "queue_left": len(library.review()), "cluster_seconds": round(cluster_seconds, 2),
                          "median_seconds": {step: round(value, 4) for step, value in medians.items()},
                          "ratio_to_plain_read": {step: round(medians[step] / medians["plain_read"], 2)
                                                  for step in steps if step != "plain_read"}}, indent=1))


if __name__ == "__main__":
    main()
