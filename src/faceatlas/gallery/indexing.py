"""`CollectionIndex`: a collection's vector index, kept in step with the database that is the truth.

The index is derived: saved beside the database now and then, with the database generation, sample count and largest
sample id it reflects. Whatever was added since (by this process before a crash, or by another process) is added again
from the database; an index saved before the last removal is rebuilt, never patched. Counts of people and samples
are cached per generation (COUNT(*) is linear in SQLite).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from faceatlas.gallery.index import ExactIndex, HnswIndex, PqIndex, VectorIndex, read_sidecar, sidecar_path
from faceatlas.gallery.schema import Collection, Sample, Subject
from faceatlas.io.files import PRIVATE_FILE

if TYPE_CHECKING:
    from faceatlas.gallery.milvus_index import MilvusIndex

log = logging.getLogger("faceatlas.gallery")

EXACT_UP_TO = 50_000
"""With `index="auto"`, collections up to this many samples are searched exactly (0.26 ms at 10k faces), larger ones
with the compressed scan `PqIndex` (2.7 ms at 1M, the exact top-1 for 99.8 % of probes;
`benchmarks/gallery_search.py`)."""

INDEX_KINDS = ("auto", "exact", "pq", "hnsw", "milvus")
_FILE_INDEXES: dict[str, type[PqIndex] | type[HnswIndex]] = {"pq": PqIndex, "hnsw": HnswIndex}


class CollectionIndex:
    """The vector index of one collection (`kind`: one of `INDEX_KINDS`) and its counts, for one process."""

    def __init__(self, engine: Engine, collection_id: int, collection_key: str, stem: str, directory: Path,
                 kind: str, ndim: int, milvus_uri: str) -> None:
        if kind not in INDEX_KINDS:
            raise ValueError(f"unknown index '{kind}' ({', '.join(INDEX_KINDS)})")
        self.engine, self.collection_id, self.kind, self.ndim = engine, collection_id, kind, ndim
        self.stem, self.directory = stem, directory  # files are named `stem.<suffix>` in `directory`
        self._milvus_name, self._milvus_uri = f"faceatlas_{collection_key}", milvus_uri
        self._milvus: MilvusIndex | None = None
        self.index: VectorIndex | None = None
        self._generation = -1  # the database generation the index in memory reflects
        self._kind = ""  # the kind of the index in memory
        self._max_id = 0  # the largest sample id in the index
        self._saved_count = 0  # samples in the index when it was last saved
        self._counted = (-1, 0, 0)  # generation, people, samples
        self.writer = False  # set while this process holds the collection's writer lock (`Gallery.writing`)

    @property
    def lock_path(self) -> Path:
        """The collection's writer lock (`Gallery.writing`): one writer at a time, and index files saved under it."""
        return self.directory / f"{self.stem}.lock"

    def path(self, kind: str) -> Path:
        """Where an index of this kind is saved (the exact index is not saved; Milvus keeps its own files)."""
        suffix = {"pq": "faiss", "hnsw": "usearch"}.get(kind, kind)
        return self.directory / f"{self.stem}.{suffix}"

    def generation(self, session: Session) -> int:
        return int(session.scalar(select(Collection.generation).where(Collection.id == self.collection_id)))

    def counts(self, session: Session) -> tuple[int, int]:
        """People and samples in the collection, counted again only after a change (a new generation)."""
        generation = self.generation(session)
        if self._counted[0] != generation:
            people = session.scalar(select(func.count(Subject.id)).where(Subject.collection_id == self.collection_id))
            samples = session.scalar(select(func.count(Sample.id)).where(Sample.collection_id == self.collection_id))
            self._counted = (generation, int(people), int(samples))
        return self._counted[1], self._counted[2]

    def current(self, session: Session) -> VectorIndex:
        """The index reflecting the database now. Samples only ever get larger ids, and every removal rebuilds the
        index, so an index (the one in memory, else the saved one) made since the last removal is brought up to date
        by adding the samples after its largest id; anything else, or a count that still disagrees, is rebuilt."""
        generation, kind = self.generation(session), self._chosen_kind(session)
        if self.index is not None and self._kind == kind and self._generation == generation:
            return self.index
        removed_at = self._removed_at(session)
        if self.index is None or self._kind != kind or self._generation < removed_at:
            self.index, self._kind = self._saved(kind, removed_at), kind
        if self.index is not None:
            self._add_rows(session, self.index, Sample.id > self._max_id)
        if self.index is None or len(self.index) != self.counts(session)[1]:
            self.rebuild(session)
        self._generation = generation
        return self.index

    def rebuild(self, session: Session, removal: bool = False) -> VectorIndex:
        """A new index of the chosen kind from every sample in the database, saved; after a `removal`, the files of
        the other kinds (saved before it, holding the removed faces) deleted."""
        kind = self._chosen_kind(session)
        if kind == "milvus":
            self.index = self._milvus_index()
            self.index.reset()
        else:
            self.index = {"exact": ExactIndex, **_FILE_INDEXES}[kind](self.ndim)
        self._kind, self._max_id = kind, 0
        self._add_rows(session, self.index, Sample.id > 0)
        self._save(self.generation(session))
        if removal:
            for other in set(_FILE_INDEXES) - {kind}:
                for path in (self.path(other), sidecar_path(self.path(other))):
                    path.unlink(missing_ok=True)
        return self.index

    def added(self, generation: int, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Samples committed: into the index in memory; saved only once the unsaved part reaches a tenth of the
        index (at least 1,000), since other processes and restarts add the rest from the database anyway."""
        self._add(self.index, ids, vectors)
        self._generation = generation
        if len(self.index) - self._saved_count >= max(1_000, len(self.index) // 10):
            self._save(generation)

    def changed(self, generation: int) -> None:
        """A change that neither added nor removed samples (a rename, a merge): the index still reflects it."""
        self._generation = generation

    def close(self) -> None:
        """Release the Milvus connection (and milvus-lite's lock), if one is open."""
        if self._milvus is not None:
            self._milvus.close()
            self._milvus = None
            self.index = None

    def _chosen_kind(self, session: Session) -> str:
        if self.kind == "auto":
            return "pq" if self.counts(session)[1] > EXACT_UP_TO else "exact"
        return self.kind

    def _removed_at(self, session: Session) -> int:
        """The generation of the last change that removed samples (an index older than that must be rebuilt)."""
        return int(session.scalar(select(Collection.removed_at).where(Collection.id == self.collection_id)) or 0)

    def _saved(self, kind: str, removed_at: int) -> VectorIndex | None:
        """The saved index of this kind if it was saved since the last removal (its largest id and size then kept
        in `_max_id` and `_saved_count`), else None."""
        if kind == "milvus":
            index: VectorIndex | None = self._milvus_index()
            state = index.state
        elif kind in _FILE_INDEXES and self.path(kind).exists():
            state = read_sidecar(self.path(kind))  # None unless the file is the one its sidecar was written for
            try:
                index = _FILE_INDEXES[kind].load(self.path(kind), self.ndim) if state else None
            except Exception as error:  # the index is derived: whatever it failed with, it is rebuilt
                log.warning("the saved vector index %s could not be loaded (%s: %s): rebuilding it from the database",
                            self.path(kind), type(error).__name__, error)
                index = None
            if state is None:
                log.warning("the saved vector index %s does not match its record (damaged or replaced): rebuilding "
                            "it from the database", self.path(kind))
        else:
            return None
        try:
            if index is None or not state or int(state["generation"]) < removed_at or len(index) != state["count"]:
                return None
            self._max_id, self._saved_count = int(state["max_id"]), int(state["count"])
        except (KeyError, TypeError, ValueError):  # a record of another shape: rebuilt
            return None
        return index

    def _milvus_index(self) -> MilvusIndex:
        if self._milvus is None:
            from faceatlas.gallery.milvus_index import MilvusIndex

            self._milvus = MilvusIndex(self._milvus_uri, self._milvus_name, self.ndim)
        return self._milvus

    def _add_rows(self, session: Session, index: VectorIndex, condition: object) -> None:
        """Add the collection's samples matching `condition` to `index`, in id order, 10,000 at a time."""
        rows = session.execute(select(Sample.id, Sample.embedding).where(Sample.collection_id == self.collection_id,
                                                                         condition).order_by(Sample.id))
        while batch := rows.fetchmany(10_000):
            self._add(index, np.array([row[0] for row in batch]),
                      np.stack([np.frombuffer(row[1], np.float32) for row in batch]))

    def _add(self, index: VectorIndex, ids: np.ndarray, vectors: np.ndarray) -> None:
        index.add(ids, vectors)
        self._max_id = max(self._max_id, int(ids.max()))

    def _save(self, generation: int) -> None:
        """Persist the index with the database generation, sample count and largest id it reflects. Saved under the
        writer lock only: a reader takes it if it is free and saves only if no removal committed since the rows it
        read (an index holding removed faces, an erased person's, must never reach the disk); else it skips."""
        if not self.writer:
            with self._lock_if_free() as free:
                if free:
                    with Session(self.engine) as session:
                        if self._removed_at(session) <= generation:
                            self._write(generation)
            return
        self._write(generation)

    def _write(self, generation: int) -> None:
        state = {"generation": generation, "count": len(self.index), "max_id": self._max_id}
        self.index.save(self.path(self._kind), state)
        self._saved_count = state["count"]

    @contextmanager
    def _lock_if_free(self) -> Iterator[bool]:
        """The collection's writer lock, if no writer holds it now: yields whether it was taken."""
        lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(lock)  # releases the lock
