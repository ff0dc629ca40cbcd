"""Reading a photo library's faces, clusters and names out of the database, for clustering, naming and review."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from itertools import chain
from typing import Any

import numpy as np
from scipy.sparse import csr_array
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from faceatlas.errors import LabellingError
from faceatlas.gallery import Gallery
from faceatlas.gallery.schema import Subject
from faceatlas.organize.schema import LibraryCluster, LibraryFace, LibraryNotPerson, LibraryNumbering, LibraryPath


@dataclass
class FaceTable:
    """The collection's faces as arrays, in id order."""

    ids: np.ndarray
    files: np.ndarray
    frames: np.ndarray  # a video's face: the time of its frame in ms; -1: a photo's
    quality: np.ndarray  # NaN: unknown
    embeddings: np.ndarray
    clusters: np.ndarray  # -1: none

    def shots(self) -> np.ndarray:
        """Which faces were seen together (one photo, one video frame): they are different people."""
        return np.unique(np.column_stack([self.files, self.frames]), axis=0, return_inverse=True)[1].ravel()

    def groups(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """Cluster ids in order, and each one's faces (row indices)."""
        order = np.argsort(self.clusters, kind="stable")
        order = order[self.clusters[order] >= 0]
        ids, starts = np.unique(self.clusters[order], return_index=True)
        return ids, np.split(order, starts[1:]) if len(order) else []

    def sums(self, members: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The sum of each group's embeddings (`groups`' members) and its size."""
        counts = np.array([len(m) for m in members], np.int64)
        if not members:
            return np.zeros((0, self.embeddings.shape[1])), counts.astype(np.float64)
        membership = csr_array((np.ones(counts.sum()), (np.repeat(np.arange(len(members)), counts),
                                                        np.concatenate(members))),
                               shape=(len(members), len(self.embeddings)))
        return membership @ self.embeddings.astype(np.float64), counts.astype(np.float64)

    def frame_ms(self, row: int) -> int | None:
        return None if self.frames[row] < 0 else int(self.frames[row])

    def best(self, members: np.ndarray) -> int:
        """The face shown for a group: its best quality (unknown counts as 0), the first on a tie."""
        return int(members[int(np.argmax(np.nan_to_num(self.quality[members], nan=0.0)))])


class LibraryView:
    """One collection's library tables as the labelling code reads them; a face's embedding is read once per
    process (a face's record never changes), its cluster afresh each time."""

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery
        self._cache: FaceTable | None = None

    @property
    def collection(self) -> int:
        return self.gallery.collection_id

    def forget_cache(self) -> None:
        self._cache = None

    def faces(self, session: Session) -> FaceTable:
        """The faces, with their current clusters. A face erased by any process may leave its id to a new face
        (SQLite reuses the highest ids), so the cache is kept only while its (id, file) pairs are still the first
        ones."""
        rows = session.connection().execute(  # Core rows straight into NumPy: ORM rows cost more than the read
            select(LibraryFace.id, LibraryFace.file_id, func.coalesce(LibraryFace.cluster_id, -1))
            .where(LibraryFace.collection_id == self.collection).order_by(LibraryFace.id)).all()
        current = np.fromiter(chain.from_iterable(rows), np.int64).reshape(-1, 3)
        ids, files = current[:, 0], current[:, 1]
        cache = self._cache
        if cache is None or not (np.array_equal(cache.ids, ids[:len(cache.ids)])
                                 and np.array_equal(cache.files, files[:len(cache.files)])):
            cache = self._read(session, 0)
        elif len(ids) > len(cache.ids):
            more = self._read(session, int(cache.ids[-1]) if len(cache.ids) else 0)
            cache = FaceTable(**{column.name: np.concatenate([getattr(cache, column.name), getattr(more, column.name)])
                                 for column in fields(FaceTable)})
        if not np.array_equal(cache.ids, ids):  # removed meanwhile
            cache = self._read(session, 0)
        self._cache = cache
        return replace(cache, clusters=current[:, 2].copy())

    def _read(self, session: Session, after: int) -> FaceTable:
        rows = session.connection().execute(
            select(LibraryFace.id, LibraryFace.file_id, func.coalesce(LibraryFace.frame_ms, -1), LibraryFace.quality,
                   LibraryFace.embedding)
            .where(LibraryFace.collection_id == self.collection, LibraryFace.id > after)
            .order_by(LibraryFace.id)).all()
        ndim = len(rows[0][4]) // 4 if rows else self.gallery.ndim
        numbers = np.fromiter(chain.from_iterable(row[:3] for row in rows), np.int64).reshape(-1, 3)
        if any(len(row[4]) != 4 * ndim for row in rows):
            raise LabellingError("the library's faces hold embeddings of different sizes (more than one model?)")
        embeddings = np.frombuffer(bytearray().join(row[4] for row in rows), np.float32).reshape(-1, ndim)
        return FaceTable(ids=numbers[:, 0], files=numbers[:, 1], frames=numbers[:, 2],
                         quality=np.array([row[3] for row in rows], np.float64),  # NULL becomes NaN
                         embeddings=embeddings, clusters=np.full(len(rows), -1, np.int64))

    def cluster(self, session: Session, cluster_id: int) -> LibraryCluster:
        """Cluster `cluster_id` of this library, or a clear error."""
        found = session.get(LibraryCluster, cluster_id)
        if found is None or found.collection_id != self.collection:
            raise LabellingError(f"no cluster {cluster_id} in this library (see `faceatlas library people`)")
        return found

    def column(self, session: Session, column: InstrumentedAttribute, face_ids: Iterable[int]) -> dict[int, Any]:
        """One column of the faces `face_ids`, by face id."""
        wanted = [int(f) for f in face_ids]
        return {row[0]: row[1] for chunk in range(0, len(wanted), 500) for row in session.execute(
            select(LibraryFace.id, column).where(LibraryFace.id.in_(wanted[chunk:chunk + 500])))}

    def names(self, session: Session) -> dict[int, tuple[int, str]]:
        """Named clusters: cluster -> (subject id, name)."""
        return {row[0]: (row[1], row[2]) for row in session.execute(
            select(LibraryCluster.id, Subject.id, Subject.name).join(Subject, LibraryCluster.subject_id == Subject.id)
            .where(LibraryCluster.collection_id == self.collection))}

    def ruled_out(self, session: Session) -> dict[int, set[int]]:
        """Cluster -> the people the user said it is not."""
        ruled: dict[int, set[int]] = {}
        for cluster_id, subject_id in session.execute(
                select(LibraryNotPerson.cluster_id, LibraryNotPerson.subject_id).join(LibraryCluster)
                .where(LibraryCluster.collection_id == self.collection)):
            ruled.setdefault(cluster_id, set()).add(subject_id)
        return ruled

    def paths(self, session: Session, files: Iterable[int]) -> dict[int, list[str]]:
        """The current paths of each file (none if it is no longer found), in order."""
        wanted = sorted({int(f) for f in files})
        found: dict[int, list[str]] = {}
        for chunk in range(0, len(wanted), 500):
            for file_id, path in session.execute(select(LibraryPath.file_id, LibraryPath.path)
                                                 .where(LibraryPath.file_id.in_(wanted[chunk:chunk + 500]))
                                                 .order_by(LibraryPath.path)):
                found.setdefault(file_id, []).append(path)
        return found

    def next_cluster_number(self, session: Session) -> int:
        """Above every cluster row (ids are unique across collections) and every number this collection handed
        out."""
        numbering = session.get(LibraryNumbering, self.collection)
        return max(session.scalar(select(func.max(LibraryCluster.id))) or 0,
                   0 if numbering is None else numbering.last_cluster) + 1


def cluster_of(names: dict[int, tuple[int, str]], person: str) -> tuple[int, int] | None:
    """The cluster named `person` and their subject id, from `LibraryView.names`; None if no cluster is."""
    return next(((cluster_id, subject) for cluster_id, (subject, name) in names.items() if name == person), None)
