"""Clustering the faces of LFW View 1 into people: the library's incremental clustering against batch baselines
(agglomerative with average linkage, DBSCAN, HDBSCAN), adding DevTest's photos after DevTrain's
against clustering everything at once, and the time to cluster 100k faces.

    .venv/bin/python benchmarks/library_clustering.py [--fmr 1e-5 1e-4 1e-3] [--cache DIR] [--scale 100000]

Faces: the centre face of each image (SFace, profile `default`: the faces LFW labels); each image is its own photo.
"incremental" is the library's clustering as it runs, quality gate included (faces below `SEED_QUALITY` may join but
not seed); "ungated" lets every face seed. Baselines at the same threshold: agglomerative average linkage, DBSCAN
with min_samples 1 (single linkage: the connected components of the pairs above the threshold), and HDBSCAN;
"agglomerative_average_best_threshold" is average linkage at the threshold (0.44 to 0.56) that scores best on these
very faces: a ceiling no calibrated threshold can pass.
"every_face_*" cluster every face the library's index finds in the images (two faces of one image kept apart by the
library; the batch baseline knows no such constraint), scored on the labelled faces. The timing runs on synthetic
people (centres drawn from a Gaussian fitted to the LFW embeddings, photos scattered around them so that two photos
of one person are as similar as LFW's genuine pairs; Zipf-like photo counts, as in a family library).
Prints one JSON document: per FMR the threshold, clusters, BCubed and pairwise precision / recall / F, seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering

from faceatlas import FaceAnalyzer
from faceatlas.eval.embedding import analyzer_signature
from faceatlas.organize.clustering import SEED_QUALITY, cluster
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


def every_face(analyzer: FaceAnalyzer, paths: list[Path], cache_dir: Path | None) -> dict[str, np.ndarray]:
    """Every face of every image, as the library's index finds them (`analyzer` with the quality head): embedding,
    quality, image number, and whether it is the face nearest the image's centre (the one LFW labels). Cached in
    `cache_dir` per analyzer and image list."""
    listing = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:12]
    cache = cache_dir / f"every-face-{analyzer_signature(analyzer)}-{listing}.npz" if cache_dir else None
    if cache is not None and cache.exists():
        return dict(np.load(cache))
    rows: dict[str, list] = {"embeddings": [], "quality": [], "photo": [], "centre": []}
    for index, path in enumerate(paths):
        faces = analyzer.analyze(path)
        if len(faces):
            centre = faces.nearest_centre().boxes[0]
            rows["embeddings"] += list(faces.embeddings)
            rows["quality"] += list(faces.quality)
            rows["photo"] += [index] * len(faces)
            rows["centre"] += [bool(np.array_equal(box, centre)) for box in faces.boxes]
    found = {key: np.array(values) for key, values in rows.items()}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **found)
    return found


def incremental(embeddings: np.ndarray, batches: list[np.ndarray], threshold: float,
                quality: np.ndarray | None = None, photos: np.ndarray | None = None) -> np.ndarray:
    """Cluster the faces batch by batch, each batch among the clusters the earlier ones made; without `quality`
    every face may seed, without `photos` every face is a photo of its own."""
    quality = np.ones(len(embeddings)) if quality is None else quality
    photos = np.arange(len(embeddings)) if photos is None else photos
    labels = np.full(len(embeddings), -2, np.int64)  # -2: not added yet
    for rows in batches:
        labels[rows] = -1
        added = labels > -2
        labels[added] = cluster(embeddings[added], labels[added], photos[added], quality[added],
                                threshold, next_id=int(labels.max()) + 1).labels
    return labels


def synthetic_library(mean: np.ndarray, covariance: np.ndarray, faces: int, genuine: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`faces` embeddings of synthetic people (see the module docstring; their centres drawn from a Gaussian of this
    `mean` and `covariance`, normalised) and who is who, person by person."""
    counts = np.minimum(rng.zipf(1.6, size=faces), 2_000)
    counts = counts[np.cumsum(counts) <= faces]
    counts = np.append(counts, faces - counts.sum())
    counts = counts[counts > 0]
    centres = rng.multivariate_normal(mean, covariance, size=len(counts))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    who = np.repeat(np.arange(len(counts)), counts)
    noise = rng.standard_normal((faces, len(mean))) / np.sqrt(len(mean))
    spread = np.sqrt(1 / genuine - 1)  # two photos of a person: similarity ~ 1 / (1 + spread^2)
    vectors = centres[who] + spread * noise
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), who


def average_linkage(embeddings: np.ndarray, threshold: float) -> np.ndarray:
    """The batch baseline: scikit-learn's agglomerative clustering, average linkage, cut at `threshold`."""
    return AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                   distance_threshold=1 - threshold).fit_predict(embeddings)


def clusters(labels: np.ndarray) -> int:
    """How many clusters the scored faces fall into (unclustered faces not counted)."""
    return len(np.unique(labels[labels >= 0]))


def timed(function: object, *args: object) -> tuple[object, float]:
    start = time.perf_counter()
    result = function(*args)
    return result, round(time.perf_counter() - start, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fmr", type=float, nargs="+", default=[1e-5, 1e-4, 1e-3])
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache folder (see faceatlas eval)")
    parser.add_argument("--scale", type=int, nargs="*", default=[20_000, 100_000],
                        help="synthetic library sizes to time (the batch baseline only up to 20,000)")
    args = parser.parse_args()
    train, test = pair_images(LFW / "pairsDevTrain.txt"), pair_images(LFW / "pairsDevTest.txt")
    paths = train + [p for p in test if p not in set(train)]
    analyzer = FaceAnalyzer(heads=["quality"])
    indexed = every_face(analyzer, paths, args.cache)
    centre = indexed["centre"]
    embeddings, quality = indexed["embeddings"][centre], indexed["quality"][centre]
    found = indexed["photo"][centre]
    truth = np.unique([paths[i].parent.name for i in found], return_inverse=True)[1]
    in_train = found < len(train)
    hdbscan, hdbscan_seconds = timed(HDBSCAN(min_cluster_size=2).fit_predict, embeddings)
    rows = []
    for fmr in args.fmr:
        threshold = calibrated_threshold(analyzer.recogniser_card, fmr)
        at_once, seconds = timed(incremental, embeddings, [np.arange(len(embeddings))], threshold, quality)
        train_then_test = incremental(embeddings, [np.flatnonzero(in_train), np.flatnonzero(~in_train)], threshold,
                                      quality)
        ungated = incremental(embeddings, [np.arange(len(embeddings))], threshold)
        batch, baseline_seconds = timed(average_linkage, embeddings, threshold)
        single = DBSCAN(eps=1 - threshold, min_samples=1, metric="cosine").fit_predict(embeddings)
        every = incremental(indexed["embeddings"], [np.arange(len(centre))], threshold, indexed["quality"],
                            indexed["photo"])[centre]
        every_batch = average_linkage(indexed["embeddings"], threshold)[centre]
        rows.append({"fmr": fmr, "threshold": threshold,
                     "incremental": {"clusters": clusters(at_once), "seconds": seconds,
                                     **bcubed(at_once, truth)},
                     "devtrain_then_devtest": {"clusters": clusters(train_then_test),
                                               **bcubed(train_then_test, truth)},
                     "ungated": {"clusters": clusters(ungated), **bcubed(ungated, truth)},
                     "every_face_incremental": {"clusters": clusters(every), **bcubed(every, truth)},
                     "every_face_agglomerative_average": {"clusters": clusters(every_batch),
                                                          **bcubed(every_batch, truth)},
                     "dbscan_single_linkage": {"clusters": clusters(single), **bcubed(single, truth)},
                     "agglomerative_average": {"clusters": clusters(batch), "seconds": baseline_seconds,
                                               **bcubed(batch, truth)}})
        print(json.dumps(rows[-1]), flush=True)
    hindsight = max((bcubed(average_linkage(embeddings, t), truth)["bcubed_f"], round(t, 3))
                    for t in np.arange(0.44, 0.5601, 0.005))
    same = truth[:, None] == truth[None]
    genuine = float((embeddings @ embeddings.T)[np.triu(same, 1)].mean())
    threshold = calibrated_threshold(analyzer.recogniser_card, args.fmr[0])
    scale = []
    for faces in args.scale:
        vectors, who = synthetic_library(embeddings.mean(0), np.cov(embeddings, rowvar=False), faces, genuine,
                                         np.random.default_rng(faces))
        at_once, seconds = timed(incremental, vectors, [np.arange(faces)], threshold)
        cut = int(faces * 0.9)
        earlier = incremental(vectors[:cut], [np.arange(cut)], threshold)
        labels = np.append(earlier, np.full(faces - cut, -1))
        _, added_seconds = timed(cluster, vectors, labels, np.arange(faces), np.ones(faces), threshold,
                                     int(earlier.max()) + 1)
        row = {"faces": faces, "people": int(who.max() + 1), "fmr": args.fmr[0], "all_at_once_seconds": seconds,
               "last_10_percent_seconds": added_seconds,
               "bcubed_f": bcubed(at_once, who)["bcubed_f"] if faces <= 20_000 else None}
        if faces <= 20_000:
            batch, row["agglomerative_seconds"] = timed(average_linkage, vectors, threshold)
            row["agglomerative_bcubed_f"] = bcubed(batch, who)["bcubed_f"]
        scale.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"benchmark": "library_clustering", "machine": platform.platform(), "faces": len(embeddings),
                      "every_face": len(centre),
                      "images_with_several_faces": int((np.bincount(indexed["photo"]) > 1).sum()),
                      "people": int(truth.max() + 1), "devtrain_faces": int(in_train.sum()),
                      "seed_quality": SEED_QUALITY, "below_seed_quality": int((quality < SEED_QUALITY).sum()),
                      "results": rows,
                      "agglomerative_average_best_threshold": {"threshold": hindsight[1],
                                                               "bcubed_f": hindsight[0]},
                      "hdbscan": {"min_cluster_size": 2, "seconds": hdbscan_seconds, **bcubed(hdbscan, truth)},
                      "genuine_similarity_mean": genuine, "scale": scale}, indent=1))


if __name__ == "__main__":
    main()
