"""Clustering the faces of LFW View 1 into people: the library's incremental clustering against a batch baseline
(agglomerative, average linkage, same threshold), and adding DevTest's photos after DevTrain's against clustering
everything at once.

    .venv/bin/python benchmarks/library_clustering.py [--fmr 1e-5 1e-4 1e-3] [--cache DIR]

Faces: the centre face of each image (SFace, profile `default`); each image is its own photo. Quality is not used
(every face may seed a cluster): the quality gate is measured separately. Prints one JSON document: per FMR the
threshold, clusters, BCubed and pairwise precision / recall / F, seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from faceatlas import FaceAnalyzer
from faceatlas.eval.embedding import embed_centre_faces
from faceatlas.organize.clustering import Clusters, assign
from faceatlas.pipeline import calibrated_threshold

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1"


def pair_images(pairs_file: Path) -> list[Path]:
    """The images a View 1 pairs file names, in first-mention order."""
    seen: dict[Path, None] = {}
    for line in pairs_file.read_text().splitlines()[1:]:
        parts = line.split()
        named = [(parts[0], parts[1]), (parts[0], parts[2])] if len(parts) == 3 else [(parts[0], parts[1]),
                                                                                      (parts[2], parts[3])]
        for person, number in named:
            seen[LFW / "images" / person / f"{person}_{int(number):04d}.jpg"] = None
    return list(seen)


def bcubed(labels: np.ndarray, truth: np.ndarray) -> dict:
    """BCubed precision, recall and F; unclustered faces (-1) count as singletons."""
    labels = np.where(labels < 0, -np.arange(1, len(labels) + 1), labels)
    same_cluster = labels[:, None] == labels[None]
    same_person = truth[:, None] == truth[None]
    both = (same_cluster & same_person).sum(1)
    precision, recall = float(np.mean(both / same_cluster.sum(1))), float(np.mean(both / same_person.sum(1)))
    pairs = np.triu(np.ones_like(same_cluster), 1)
    tp = float((same_cluster & same_person & pairs).sum())
    pair_p, pair_r = tp / max(float((same_cluster & pairs).sum()), 1), tp / max(float((same_person & pairs).sum()), 1)
    return {"bcubed_precision": precision, "bcubed_recall": recall,
            "bcubed_f": 2 * precision * recall / (precision + recall),
            "pairwise_precision": pair_p, "pairwise_recall": pair_r,
            "pairwise_f": 2 * pair_p * pair_r / max(pair_p + pair_r, 1e-12)}


def incremental(embeddings: np.ndarray, batches: list[np.ndarray], threshold: float) -> np.ndarray:
    clusters = Clusters(embeddings.shape[1])
    labels = np.full(len(embeddings), -1, np.int64)
    for rows in batches:
        labels[rows] = assign(clusters, embeddings[rows], np.ones(len(rows)), rows, threshold)
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fmr", type=float, nargs="+", default=[1e-5, 1e-4, 1e-3])
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache folder (see faceatlas eval)")
    args = parser.parse_args()
    train, test = pair_images(LFW / "pairsDevTrain.txt"), pair_images(LFW / "pairsDevTest.txt")
    paths = train + [p for p in test if p not in set(train)]
    analyzer = FaceAnalyzer()
    embedded = embed_centre_faces(analyzer, paths, cache_dir=args.cache)
    found = np.flatnonzero(embedded.found)
    embeddings = embedded.embeddings[found]
    truth = np.unique([paths[i].parent.name for i in found], return_inverse=True)[1]
    in_train = found < len(train)
    rows = []
    for fmr in args.fmr:
        threshold = calibrated_threshold(analyzer.recogniser_card, fmr)
        start = time.perf_counter()
        # all faces in one go, in a shuffled order (with every quality equal, the order is what differs from
        # adding DevTest's photos after DevTrain's)
        at_once = incremental(embeddings, [np.random.default_rng(0).permutation(len(embeddings))], threshold)
        seconds = time.perf_counter() - start
        train_then_test = incremental(embeddings, [np.flatnonzero(in_train), np.flatnonzero(~in_train)], threshold)
        start = time.perf_counter()
        batch = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                        distance_threshold=1 - threshold).fit_predict(embeddings)
        baseline_seconds = time.perf_counter() - start
        rows.append({"fmr": fmr, "threshold": threshold,
                     "incremental": {"clusters": int(at_once.max() + 1), "seconds": round(seconds, 2),
                                     **bcubed(at_once, truth)},
                     "devtrain_then_devtest": {"clusters": int(train_then_test.max() + 1),
                                               **bcubed(train_then_test, truth)},
                     "agglomerative_average": {"clusters": int(batch.max() + 1),
                                               "seconds": round(baseline_seconds, 2), **bcubed(batch, truth)}})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"benchmark": "library_clustering", "machine": platform.platform(), "faces": len(embeddings),
                      "people": int(truth.max() + 1), "devtrain_faces": int(in_train.sum()), "results": rows},
                     indent=1))


if __name__ == "__main__":
    main()
