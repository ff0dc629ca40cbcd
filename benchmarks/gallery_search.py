"""Search at gallery scale: the exact NumPy reference against the compressed scan (FAISS PQ fast-scan + int8
re-rank, the default above 50k faces), the usearch HNSW graph and Milvus (milvus-lite), at growing gallery sizes.

Mates and probes are real: SFace embeddings (profile `default`) of LFW View 1 — for each person with two or more
photos, the first photo is enrolled and the second is the probe. Distractors fill the gallery up to each size; they
are drawn from a Gaussian fitted to all the real embeddings (mean and covariance), then L2-normalised — a stand-in
for millions of other people, reported with how their similarities to the probes compare with real impostors'.

    .venv/bin/python benchmarks/gallery_search.py [--sizes 10000 100000 1000000 10000000] [--queries 1000]
        [--backends pq hnsw milvus] [--cache DIR]

Each backend runs up to its own largest size (`--hnsw-up-to`, `--milvus-up-to`): building the graph or loading
Milvus at ten million faces takes hours here.

Prints one JSON document: per size and backend, build seconds, index bytes per face (the saved file, and the
resident memory it takes when loaded), single-query top-10 latency p50/p99, recall@1 and recall@10 against the exact
reference, and rank-1 identification of the real probes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.eval.embedding import embed_centre_faces
from faceatlas.eval.identities import load_identities
from faceatlas.gallery.index import ExactIndex, HnswIndex, PqIndex

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
    mean, cholesky = real.mean(axis=0), np.linalg.cholesky(np.cov(real, rowvar=False))
    out = np.empty((count, real.shape[1]), np.float32)
    for start in range(0, count, 200_000):
        chunk = (rng.standard_normal((min(200_000, count - start), real.shape[1])) @ cholesky.T + mean)
        out[start:start + len(chunk)] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def resident_bytes() -> int:
    """This process's resident memory (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def reloaded(index: HnswIndex | PqIndex, ndim: int) -> tuple[HnswIndex | PqIndex, int, int]:
    """The index saved and loaded back, its file size, and the resident memory loading it takes in a fresh process
    (in this one, freed memory is reused and the difference means little)."""
    kind = type(index)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index"
        index.save(path, {"generation": 0})
        size = path.stat().st_size
        del index
        measured = subprocess.run([sys.executable, __file__, "--measure-load", kind.__name__, str(path), str(ndim)],
                                  capture_output=True, text=True, check=True)
        return kind.load(path, ndim), size, int(measured.stdout.split()[-1])


def measure_load(kind: str, path: str, ndim: int) -> None:
    """Print the resident memory that loading one index takes (run in a fresh process by `reloaded`)."""
    import faiss  # noqa: F401  (the libraries' own code is not the index's memory)
    import usearch.index  # noqa: F401

    before = resident_bytes()
    index = {"HnswIndex": HnswIndex, "PqIndex": PqIndex}[kind].load(Path(path), ndim)
    assert len(index)
    print(resident_bytes() - before)


def exact_truth(exact: ExactIndex, probes: np.ndarray) -> np.ndarray:
    """Exact top-10 ids, 50 probes at a time (a 10M-face similarity matrix for every probe at once would not fit)."""
    return np.concatenate([exact.search(probes[i:i + 50], 10)[0] for i in range(0, len(probes), 50)])


def milvus_index(ids: np.ndarray, vectors: np.ndarray, folder: str) -> object:
    from faceatlas.gallery.milvus_index import MilvusIndex

    index = MilvusIndex(str(Path(folder) / "bench.db"), "bench", vectors.shape[1])
    index.add(ids, vectors)
    index.save(Path(folder), {"generation": 0})
    return index


def latency_ms(index: object, queries: np.ndarray) -> tuple[float, float]:
    samples = []
    for query in queries:
        start = time.perf_counter()
        index.search(query[None], 10)
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def scored(found: np.ndarray, truth: np.ndarray) -> dict:
    return {"recall_at_1": float(np.mean(found[:, 0] == truth[:, 0])),
            "recall_at_10": float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])),
            "rank1_identification": float(np.mean(found[:, 0] == np.arange(len(found))))}


def main() -> None:
    if sys.argv[1:2] == ["--measure-load"]:
        measure_load(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=1165, help="real probes (LFW View 1 has 1,165)")
    parser.add_argument("--backends", nargs="+", default=["pq", "hnsw", "milvus"])
    parser.add_argument("--hnsw-up-to", type=int, default=1_000_000)
    parser.add_argument("--milvus-up-to", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache folder (see faceatlas eval)")
    args = parser.parse_args()
    real, mates, probes = real_embeddings(args.cache)
    probes = probes[: args.queries]
    # one array, mates first: every gallery size is a view of it, never a copy (10M faces are 5 GB)
    everything = np.concatenate([mates, distractors(real, max(args.sizes) - len(mates))])
    rng = np.random.default_rng(1)
    impostor_real = (probes[:, None] * real[rng.integers(0, len(real), (len(probes), 50))]).sum(-1).ravel()
    impostor_fake = (probes[:, None] * everything[rng.integers(len(mates), len(everything), (len(probes), 50))]
                     ).sum(-1).ravel()
    rows = []
    for size in args.sizes:
        vectors, ids = everything[:size], np.arange(size)
        exact = ExactIndex(vectors.shape[1])
        exact.ids, exact.vectors = ids, vectors
        truth = exact_truth(exact, probes)
        p50, p99 = latency_ms(exact, probes[:100])
        rows.append({"size": size, "backend": "exact", "bytes_per_face": vectors.nbytes / size, "p50_ms": p50,
                     "p99_ms": p99, "rank1_identification": float(np.mean(truth[:, 0] == np.arange(len(probes))))})
        print(json.dumps(rows[-1]), flush=True)
        for backend in args.backends:
            if (backend == "hnsw" and size > args.hnsw_up_to) or (backend == "milvus" and size > args.milvus_up_to):
                continue
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                if backend == "milvus":
                    index = milvus_index(ids, vectors, folder)
                    row = {"build_s": round(time.perf_counter() - start, 1)}
                else:
                    index = PqIndex(vectors.shape[1]) if backend == "pq" else HnswIndex(vectors.shape[1])
                    index.add(ids, vectors)
                    row = {"build_s": round(time.perf_counter() - start, 1)}
                    index, file_bytes, rss_bytes = reloaded(index, vectors.shape[1])
                    row |= {"file_bytes_per_face": file_bytes / size, "resident_bytes_per_face": rss_bytes / size}
                found = np.concatenate([index.search(probes[i:i + 100], 10)[0] for i in range(0, len(probes), 100)])
                p50, p99 = latency_ms(index, probes[:300])
                rows.append({"size": size, "backend": backend, **row, "p50_ms": p50, "p99_ms": p99,
                             **scored(found, truth)})
                if backend == "milvus":
                    index.close()
                del index
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"benchmark": "gallery_search", "machine": platform.platform(), "cpus": os.cpu_count(),
                      "mates": len(mates), "probes": len(probes), "real_embeddings": len(real),
                      "distractors": "Gaussian fitted to the real embeddings (mean, covariance), L2-normalised",
                      "impostor_similarity_real_mean_std": [float(impostor_real.mean()), float(impostor_real.std())],
                      "impostor_similarity_distractor_mean_std": [float(impostor_fake.mean()),
                                                                  float(impostor_fake.std())],
                      "latency": "single-query top-10, 300 probes (exact: 100)",
                      "backends": {"exact": "NumPy float32 inner products", "pq": "FAISS IDMap,PQ64x4fs,Refine(SQ8), "
                                   "re-rank 20 x k", "hnsw": "usearch i8 cos M16 ef_add 128 ef_search 256",
                                   "milvus": "milvus-lite FLAT COSINE"},
                      "results": rows}, indent=1))


if __name__ == "__main__":
    main()
