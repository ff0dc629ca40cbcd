"""Vector indexes over a collection's samples, behind one Protocol: an exact NumPy reference and a local HNSW index
(usearch). Both are derived from the database and can be rebuilt from it at any time."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

import numpy as np


class VectorIndex(Protocol):
    """Sample ids (int64) and their L2-normalised vectors; scores are cosine similarities. There is no removal:
    erasure rebuilds the index from the database, so no quantised copy of an erased face survives in it."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, k) ids (-1 where fewer exist) and (Q, k) scores, best first."""
        ...

    def __len__(self) -> int: ...

    def save(self, path: Path, generation: int) -> None: ...


class ExactIndex:
    """Brute-force inner products in NumPy: the reference every other index is tested against."""

    def __init__(self, ndim: int) -> None:
        self.ndim = ndim
        self._ids = np.zeros(0, np.int64)
        self._vectors = np.zeros((0, ndim), np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._ids = np.concatenate([self._ids, np.asarray(ids, np.int64)])
        self._vectors = np.concatenate([self._vectors, np.asarray(vectors, np.float32).reshape(-1, self.ndim)])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, np.float32).reshape(-1, self.ndim)
        ids = np.full((len(queries), k), -1, np.int64)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        if len(self._ids) == 0:
            return ids, scores
        similarity = queries @ self._vectors.T
        take = min(k, len(self._ids))
        top = np.argpartition(-similarity, take - 1, axis=1)[:, :take]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        ids[:, :take] = self._ids[top]
        scores[:, :take] = np.take_along_axis(similarity, top, axis=1)
        return ids, scores

    def __len__(self) -> int:
        return len(self._ids)

    def save(self, path: Path, generation: int) -> None:
        """Nothing to persist: the exact index is rebuilt from the database on open."""


class HnswIndex:
    """usearch HNSW over int8-quantised cosine vectors, saved as one file beside the database. Search breadth 256:
    on face embeddings (spread almost uniformly over the sphere) the default 64 found the exact top-1 for only 81 %
    of probes at 100k faces, 256 for 92 % at 2 ms (`benchmarks/gallery_search.py`).

    Files are written to a temporary name and renamed, with a sidecar recording the database generation they
    reflect; a mismatch on open (a crash between the database commit and the index save) means "rebuild".
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

    def save(self, path: Path, generation: int) -> None:
        temporary = path.with_name(path.name + ".part")
        self._index.save(str(temporary))
        _fsync(temporary)
        os.replace(temporary, path)
        write_sidecar(path, generation, len(self))

    @classmethod
    def load(cls, path: Path, ndim: int) -> HnswIndex:
        index = cls(ndim)
        index._index.load(str(path))
        return index


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def write_sidecar(path: Path, generation: int, count: int) -> None:
    sidecar = sidecar_path(path)
    temporary = sidecar.with_name(sidecar.name + ".part")
    temporary.write_text(json.dumps({"generation": generation, "count": count}))
    _fsync(temporary)
    os.replace(temporary, sidecar)


def read_sidecar(path: Path) -> dict | None:
    try:
        return json.loads(sidecar_path(path).read_text())
    except (OSError, ValueError):
        return None


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
