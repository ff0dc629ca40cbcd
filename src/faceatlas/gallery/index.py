"""Vector indexes over a collection's samples, behind one Protocol: an exact NumPy reference, a compressed exhaustive
scan (FAISS product-quantised fast-scan with int8 re-ranking: the default for large galleries) and a local HNSW graph
(usearch). All are derived from the database and can be rebuilt from it at any time."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from faceatlas.io.files import sha256_file, write_atomically, written_by


class VectorIndex(Protocol):
    """Sample ids (int64) and their L2-normalised vectors; scores are cosine similarities. There is no removal:
    erasure rebuilds the index from the database, so no quantised copy of an erased face survives in it."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, k) ids (-1 where fewer exist) and (Q, k) scores, best first."""
        ...

    def __len__(self) -> int: ...

    def save(self, path: Path, state: dict) -> None:
        """Persist the index with `state` (the database generation, sample count and largest sample id it
        reflects) recorded beside it, for the next process to trust it or not."""
        ...


class ExactIndex:
    """Brute-force inner products in NumPy: the reference every other index is tested against."""

    def __init__(self, ndim: int) -> None:
        self.ndim = ndim
        self.ids = np.zeros(0, np.int64)
        self.vectors = np.zeros((0, ndim), np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = np.concatenate([self.ids, np.asarray(ids, np.int64)])
        self.vectors = np.concatenate([self.vectors, np.asarray(vectors, np.float32).reshape(-1, self.ndim)])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, np.float32).reshape(-1, self.ndim)
        ids = np.full((len(queries), k), -1, np.int64)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        if len(self.ids) == 0:
            return ids, scores
        similarity = queries @ self.vectors.T
        take = min(k, len(self.ids))
        top = np.argpartition(-similarity, take - 1, axis=1)[:, :take]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        ids[:, :take] = self.ids[top]
        scores[:, :take] = np.take_along_axis(similarity, top, axis=1)
        return ids, scores

    def __len__(self) -> int:
        return len(self.ids)

    def save(self, path: Path, state: dict) -> None:
        """Nothing to persist: the exact index is rebuilt from the database on open."""


class PqIndex:
    """Every face scanned, compressed: FAISS product quantisation with 4-bit codes (`PQ64x4fs`, 32 bytes a face,
    scanned with in-register SIMD look-ups), then the best `rerank` x k candidates re-scored on int8 vectors
    (`Refine(SQ8)`, 128 bytes a face). 168 bytes a face with its id. The faces are split into one shard per core
    (up to 8), scanned in parallel: one query uses every core (1.7x faster on 2).

    Why not a graph: face embeddings of different people are spread almost uniformly over the sphere, so an HNSW
    graph has no neighbourhoods to follow to a probe's mate: at 1M faces it found the exact top-1 for 70 % of
    probes, this scan for 99.8 % (`benchmarks/gallery_search.py`).

    The quantiser is trained on the first `TRAIN_AT` vectors added; until then they are kept as floats and searched
    exactly. Files are written like `HnswIndex`'s (temporary name, rename, state sidecar).
    """

    TRAIN_AT = 1024  # FAISS asks for 39 training points per centroid; 4-bit codes have 16
    FACTORY = "IDMap,PQ64x4fs,Refine(SQ8)"

    def __init__(self, ndim: int, rerank: int = 20, shards: int | None = None) -> None:
        self.ndim = ndim
        self.rerank = rerank
        self._shards = [self._empty() for _ in range(shards or min(8, os.cpu_count() or 1))]
        self._pending = ExactIndex(ndim)
        self._join()

    def _empty(self) -> object:
        import faiss

        return faiss.index_factory(self.ndim, self.FACTORY, faiss.METRIC_INNER_PRODUCT)

    def _join(self) -> None:
        """One searchable whole over the shards (each searched in its own thread)."""
        import faiss

        self._whole = faiss.IndexShards(self.ndim, True, False)
        for shard in self._shards:
            faiss.downcast_index(shard.index).k_factor = self.rerank
            self._whole.add_shard(shard)

    @property
    def _trained(self) -> bool:
        return bool(self._shards[0].is_trained)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        import faiss

        ids = np.asarray(ids, np.int64)
        vectors = np.ascontiguousarray(np.asarray(vectors, np.float32).reshape(-1, self.ndim))
        if not self._trained:
            self._pending.add(ids, vectors)
            if len(self._pending) < self.TRAIN_AT:
                return
            ids, vectors, self._pending = self._pending.ids, self._pending.vectors, ExactIndex(self.ndim)
            trained = self._empty()
            trained.train(vectors[:: max(1, len(vectors) // 100_000)])  # k-means needs no more
            self._shards = [faiss.clone_index(trained) for _ in self._shards]
            self._join()
        smallest_first = np.argsort([shard.ntotal for shard in self._shards], kind="stable")
        for shard, part in zip(smallest_first, np.array_split(np.arange(len(ids)), len(self._shards)), strict=True):
            if len(part):
                self._shards[shard].add_with_ids(vectors[part], ids[part])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.asarray(queries, np.float32).reshape(-1, self.ndim))
        if not self._trained:
            return self._pending.search(queries, k)
        scores, ids = self._whole.search(queries, k)
        scores[ids < 0] = -np.inf
        return ids.astype(np.int64), scores

    def __len__(self) -> int:
        return len(self._pending) + sum(int(shard.ntotal) for shard in self._shards)

    def save(self, path: Path, state: dict) -> None:
        import faiss

        shards = {f"shard{i}": faiss.serialize_index(shard) for i, shard in enumerate(self._shards)}
        write_atomically(path, lambda handle: np.savez(handle, pending_ids=self._pending.ids,
                                                       pending_vectors=self._pending.vectors, **shards))
        write_sidecar(path, state)

    @classmethod
    def load(cls, path: Path, ndim: int) -> PqIndex:
        import faiss

        with np.load(path) as saved:
            names = sorted((name for name in saved.files if name.startswith("shard")), key=lambda n: int(n[5:]))
            index = cls(ndim, shards=len(names))
            index._shards = [faiss.deserialize_index(saved[name]) for name in names]
            if not names or any(shard.d != ndim for shard in index._shards):
                raise ValueError(f"index file does not hold {ndim}-d vectors")
            index._pending.add(saved["pending_ids"], saved["pending_vectors"])
        index._join()
        return index


class HnswIndex:
    """usearch HNSW over int8-quantised cosine vectors, saved as one file beside the database. Search breadth 256:
    on face embeddings (spread almost uniformly over the sphere) the default 64 found the exact top-1 for only 81 %
    of probes at 100k faces, 256 for 92 % at 2 ms (`benchmarks/gallery_search.py`).

    Files are written to a temporary name and renamed, with a JSON sidecar recording the state they reflect (the
    gallery decides from it whether to bring the index up to date or rebuild it).
    """

    def __init__(self, ndim: int, connectivity: int = 16, expansion_add: int = 128, expansion_search: int = 256,
                 dtype: str = "i8") -> None:
        from usearch.index import Index

        self.ndim = ndim
        self._index = Index(ndim=ndim, metric="cos", dtype=dtype, connectivity=connectivity,
                            expansion_add=expansion_add, expansion_search=expansion_search)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add(np.asarray(ids, np.int64), np.asarray(vectors, np.float32).reshape(-1, self.ndim))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, np.float32).reshape(-1, self.ndim)
        ids = np.full((len(queries), k), -1, np.int64)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        if len(self._index) == 0 or len(queries) == 0:
            return ids, scores
        matches = self._index.search(queries, k)
        keys = np.asarray(matches.keys, np.int64).reshape(len(queries), -1)
        distances = np.asarray(matches.distances, np.float32).reshape(len(queries), -1)
        # one query gives `Matches` (no counts), several give `BatchMatches`
        counts = np.asarray(getattr(matches, "counts", [keys.shape[1]])).reshape(-1)
        for row, count in enumerate(counts):
            ids[row, :count] = keys[row, :count]
            scores[row, :count] = 1.0 - distances[row, :count]
        return ids, scores

    def __len__(self) -> int:
        return len(self._index)

    def save(self, path: Path, state: dict) -> None:
        written_by(path, lambda temporary: self._index.save(temporary))
        write_sidecar(path, state)

    @classmethod
    def load(cls, path: Path, ndim: int) -> HnswIndex:
        index = cls(ndim)
        index._index.load(str(path))
        return index


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def write_sidecar(path: Path, state: dict) -> None:
    """Record the state an index file reflects, and the file's SHA-256: a file that no longer matches it (damaged,
    replaced) is never loaded."""
    write_atomically(sidecar_path(path), json.dumps({**state, "sha256": sha256_file(path)}).encode())


def read_sidecar(path: Path) -> dict | None:
    """The state recorded for the index file at `path` if the file is the one it was written for, else None."""
    try:
        state = json.loads(sidecar_path(path).read_text())
        if not isinstance(state, dict) or state.get("sha256") != sha256_file(path):
            return None
        return state
    except (OSError, ValueError):
        return None
