"""Search at gallery scale: the exact NumPy reference against the usearch HNSW index, at growing gallery sizes.

Mates and probes are real: SFace embeddings (profile `default`) of LFW View 1 — for each person with two or more
photos, the first photo is enrolled and the second is the probe. Distractors fill the gallery up to each size; they
are drawn from a Gaussian fitted to all the real embeddings (mean and covariance), then L2-normalised — a stand-in
for millions of other people, reported with how their similarities to the probes compare with real impostors'.

    .venv/bin/python benchmarks/gallery_search.py [--sizes 10000 100000 1000000] [--queries 500] [--cache DIR]

Prints one JSON document: per size and backend, build seconds, index bytes per face (the saved file, and the
resident memory it takes when loaded), single-query top-10 latency p50/p99, recall@1 and recall@10 against the exact
reference, and rank-1 identification of the real probes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.eval.embedding import embed_centre_faces
from faceatlas.eval.identities import load_identities
from faceatlas.gallery.index import ExactIndex, HnswIndex

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1" / "images"


def real_embeddings(cache: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All found embeddings, and the (mates, probes) pairs: first and second photo of each person with two."""
    labelled = load_identities(LFW)
    embedded = embed_centre_faces(FaceAnalyzer(), [p for p, _ in labelled], cache_dir=cache)
    by_person: dict[str, list[int]] = {}
    for i, (_, person) in enumerate(labelled):
        if embedded.found[i]:
            by_person.setdefault(person, []).append(i)
    pairs = [rows[:2] for rows in by_person.values() if len(rows) >= 2]
    vectors = embedded.embeddings
    return vectors[embedded.found], vectors[[a for a, _ in pairs]], vectors[[b for _, b in pairs]]


def distractors(real: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mean, covariance = real.mean(axis=0), np.cov(real, rowvar=False)
    out = np.empty((count, real.shape[1]), np.float32)
    for start in range(0, count, 200_000):
        chunk = rng.multivariate_normal(mean, covariance, size=min(200_000, count - start)).astype(np.float32)
        out[start:start + len(chunk)] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def resident_bytes() -> int:
    """This process's resident memory (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def reloaded(index: HnswIndex, ndim: int) -> tuple[HnswIndex, int, int]:
    """The index saved and loaded back, with its file size and the resident memory loading it took."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.usearch"
        index.save(path, generation=0)
        size = path.stat().st_size
        before = resident_bytes()
        loaded = HnswIndex.load(path, ndim)
        return loaded, size, resident_bytes() - before


def latency_ms(index: object, queries: np.ndarray) -> tuple[float, float]:
    samples = []
    for query in queries:
        start = time.perf_counter()
        index.search(query[None], 10)
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache folder (see faceatlas eval)")
    parser.add_argument("--connectivity", type=int, nargs="+", default=[16])
    args = parser.parse_args()
    real, mates, probes = real_embeddings(args.cache)
    probes = probes[: args.queries]
    noise = distractors(real, max(args.sizes) - len(mates))
    rng = np.random.default_rng(1)
    impostor_real = (probes[:, None] * real[rng.integers(0, len(real), (len(probes), 50))]).sum(-1).ravel()
    impostor_fake = (probes[:, None] * noise[rng.integers(0, len(noise), (len(probes), 50))]).sum(-1).ravel()
    rows = []
    for size in args.sizes:
        vectors = np.concatenate([mates, noise[: size - len(mates)]])
        ids = np.arange(len(vectors))
        exact = ExactIndex(vectors.shape[1])
        exact.add(ids, vectors)
        truth, _ = exact.search(probes, 10)
        p50, p99 = latency_ms(exact, probes[:100])
        rows.append({"size": size, "backend": "exact", "bytes_per_face": vectors.nbytes / size,
                     "p50_ms": p50, "p99_ms": p99, "rank1_identification": float(np.mean(truth[:, 0] ==
                                                                                         np.arange(len(probes))))})
        for connectivity in args.connectivity:
            start = time.perf_counter()
            hnsw = HnswIndex(vectors.shape[1], connectivity=connectivity)
            hnsw.add(ids, vectors)
            build = time.perf_counter() - start
            hnsw, file_bytes, rss_bytes = reloaded(hnsw, vectors.shape[1])
            found, _ = hnsw.search(probes, 10)
            p50, p99 = latency_ms(hnsw, probes)
            rows.append({"size": size, "backend": f"hnsw-i8-M{connectivity}", "build_s": round(build, 1),
                         "file_bytes_per_face": file_bytes / size, "resident_bytes_per_face": rss_bytes / size,
                         "p50_ms": p50, "p99_ms": p99,
                         "recall_at_1": float(np.mean(found[:, 0] == truth[:, 0])),
                         "recall_at_10": float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth,
                                                                                                   strict=True)])),
                         "rank1_identification": float(np.mean(found[:, 0] == np.arange(len(probes))))})
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"benchmark": "gallery_search", "machine": platform.platform(), "cpus": os.cpu_count(),
                      "mates": len(mates), "probes": len(probes), "real_embeddings": len(real),
                      "distractors": "Gaussian fitted to the real embeddings, L2-normalised",
                      "impostor_similarity_real_mean_std": [float(impostor_real.mean()), float(impostor_real.std())],
                      "impostor_similarity_distractor_mean_std": [float(impostor_fake.mean()),
                                                                  float(impostor_fake.std())],
                      "results": rows}, indent=1))


if __name__ == "__main__":
    main()
