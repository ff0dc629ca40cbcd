"""People in a photo library: its faces clustered, clusters named (a named cluster is a gallery person), the review
queue of clusters that may be a named person, and the photos of a person.

Labelling is progressive. A new face that clears the clustering threshold against a named person's cluster joins it
and is labelled (automatically, at a calibrated false-match rate); a cluster that resembles a named person less
than that but more than the review floor (calibrated so that a stranger's cluster is put up with a 5 % chance,
however many people are named) is queued for review, biggest first (one answer settles the most faces);
below the floor it stays unknown until someone names it. A "yes" or a name joins the cluster to the person (a
must-link) and adds its best faces to the person's gallery samples; a "no" forbids that person for that cluster (a
cannot-link) for every later run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_array
from sqlalchemy import Select, delete, func, inspect, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from faceatlas.errors import FaceAtlasError
from faceatlas.gallery import Gallery
from faceatlas.gallery.decisions import per_comparison_fmr
from faceatlas.gallery.schema import Subject
from faceatlas.gallery.sources import face_source, fragment_face
from faceatlas.gallery.store import compact
from faceatlas.io.image import ImageSource
from faceatlas.models.store import sha256_file
from faceatlas.organize.clustering import Clustering, Constraints, cluster
from faceatlas.organize.schema import (
    LibraryCluster,
    LibraryFace,
    LibraryFile,
    LibraryNotPerson,
    LibraryNumbering,
    LibraryPath,
)
from faceatlas.pipeline import calibrated_threshold

CLUSTER_FMR = 1e-5
"""Faces and clusters join when their average similarity clears the threshold calibrated at this false-match rate
per comparison (BCubed F 0.992 on LFW View 1; see docs/results/lfw-clustering.json)."""

REVIEW_FPIR = 0.05
"""The floor of the review band: the chance that a cluster of someone not yet named is asked about a named person
(spread over the named people, so the band narrows as more are named), and never a per-comparison rate above
REVIEW_FMR. Below it, a cluster is left unknown."""

REVIEW_FMR = 1e-3

UNLOCKED_TRIES = 2
"""Clusterings run outside the writer lock before one runs under it (each is thrown away if a name, an answer or
another run changed the clusters meanwhile)."""

NAME_SAMPLES = 20
"""Faces of a cluster (best quality first) added to the person's gallery samples when it is named or confirmed."""

NAME_SAMPLES_PER_FILE = 5
"""At most this many of those samples from one file: a video's frames, seconds apart, are near-copies of one another
(a photo has at most one face of a cluster)."""


class LabellingError(FaceAtlasError):
    """A naming or review step that cannot be done as asked (unknown cluster or person, ...)."""

    exit_code = 8


@dataclass
class ClusterReport:
    clustered: int  # faces that were waiting for a cluster
    new_clusters: int
    joined_named: int  # new faces labelled automatically: they joined a named person's cluster
    merged: int  # existing clusters joined to others by new faces
    unclustered: int  # faces too poor to start a cluster and like none


@dataclass
class ReviewItem:
    """Is cluster `cluster` (`faces` faces) the person `name`? `score`: their average similarity."""

    cluster: int
    faces: int
    name: str
    subject_id: int
    score: float
    sample_path: str | None
    sample_box: list
    sample_frame_ms: int | None = None  # the sample face's frame, when it is in a video
    sample_face: int | None = None  # the sample face's id (its kept thumbnail: `Library.thumbnail`)

    def to_dict(self) -> dict:
        return asdict(self)


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


@dataclass
class _ClusteringState:
    """What clustering reads: the faces, named clusters (cluster -> subject), ruled-out people, the next new id."""

    faces: FaceTable
    person: dict[int, int]
    ruled_out: dict[int, set[int]]
    next_id: int

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _ClusteringState) and np.array_equal(self.faces.ids, other.faces.ids)
                and np.array_equal(self.faces.clusters, other.faces.clusters)
                and (self.person, self.ruled_out, self.next_id) == (other.person, other.ruled_out, other.next_id))


class Labelling:
    """The clusters and names of one gallery collection's library faces."""

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery
        card = gallery.analyzer.recogniser_card
        self.threshold = calibrated_threshold(card, CLUSTER_FMR)
        self._cache: FaceTable | None = None  # what never changes of a face; clusters are read afresh each time

    @property
    def _collection(self) -> int:
        return self.gallery.collection_id

    def review_floor(self, named: int) -> float:
        """The lowest average similarity to one of `named` people that puts a cluster up for review (the threshold
        itself when the per-comparison rate would be stricter than clustering's: nothing to review)."""
        fmr = min(REVIEW_FMR, per_comparison_fmr(None, REVIEW_FPIR, named))
        card = self.gallery.analyzer.recogniser_card
        return self.threshold if fmr <= CLUSTER_FMR else calibrated_threshold(card, fmr)

    def _faces(self, session: Session) -> FaceTable:
        """The faces, their embeddings read once per process (a face's record never changes) and their clusters
        read afresh. A face erased by any process may leave its id to a new face (SQLite reuses the highest ids), so
        the cache is kept only while its (id, file) pairs are still the first ones."""
        rows = session.connection().execute(  # Core rows straight into NumPy: ORM rows cost more than the read
            select(LibraryFace.id, LibraryFace.file_id, func.coalesce(LibraryFace.cluster_id, -1))
            .where(LibraryFace.collection_id == self._collection).order_by(LibraryFace.id)).all()
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
            .where(LibraryFace.collection_id == self._collection, LibraryFace.id > after)
            .order_by(LibraryFace.id)).all()
        ndim = len(rows[0][4]) // 4 if rows else int(self.gallery.analyzer.recogniser_card.embedding_dim or 128)
        numbers = np.fromiter(chain.from_iterable(row[:3] for row in rows), np.int64).reshape(-1, 3)
        if any(len(row[4]) != 4 * ndim for row in rows):
            raise LabellingError("the library's faces hold embeddings of different sizes (more than one model?)")
        embeddings = np.frombuffer(bytearray().join(row[4] for row in rows), np.float32).reshape(-1, ndim)
        return FaceTable(ids=numbers[:, 0], files=numbers[:, 1], frames=numbers[:, 2],
                         quality=np.array([row[3] for row in rows], np.float64),  # NULL becomes NaN
                         embeddings=embeddings, clusters=np.full(len(rows), -1, np.int64))

    def _existing_cluster(self, session: Session, cluster_id: int) -> LibraryCluster:
        """Cluster `cluster_id` of this library, or a clear error."""
        found = session.get(LibraryCluster, cluster_id)
        if found is None or found.collection_id != self._collection:
            raise LabellingError(f"no cluster {cluster_id} in this library (see `faceatlas library people`)")
        return found

    def _column(self, session: Session, column: InstrumentedAttribute, face_ids: Iterable[int]) -> dict[int, Any]:
        """One column of the faces `face_ids`, by face id."""
        wanted = [int(f) for f in face_ids]
        return {row[0]: row[1] for chunk in range(0, len(wanted), 500) for row in session.execute(
            select(LibraryFace.id, column).where(LibraryFace.id.in_(wanted[chunk:chunk + 500])))}

    def _names(self, session: Session) -> dict[int, tuple[int, str]]:
        """Named clusters: cluster -> (subject id, name)."""
        return {row[0]: (row[1], row[2]) for row in session.execute(
            select(LibraryCluster.id, Subject.id, Subject.name).join(Subject, LibraryCluster.subject_id == Subject.id)
            .where(LibraryCluster.collection_id == self._collection))}

    def _ruled_out(self, session: Session) -> dict[int, set[int]]:
        ruled: dict[int, set[int]] = {}
        for cluster_id, subject_id in session.execute(
                select(LibraryNotPerson.cluster_id, LibraryNotPerson.subject_id).join(LibraryCluster)
                .where(LibraryCluster.collection_id == self._collection)):
            ruled.setdefault(cluster_id, set()).add(subject_id)
        return ruled

    # ---- clustering ------------------------------------------------------------------------------------------

    def update(self) -> ClusterReport:
        """Cluster the faces that have no cluster yet among the existing clusters (see `clustering`).

        The clustering runs outside the collection's writer lock (a first import of 100k faces takes a minute) and
        is written under it if nothing it read has changed meanwhile; after `UNLOCKED_TRIES` such misses it runs
        under the lock."""
        for _ in range(UNLOCKED_TRIES):
            with Session(self.gallery.engine) as session:
                state = self._state(session)
            result = self._cluster(state)
            with self.gallery.writing() as session:
                if self._state(session) == state:
                    return self._write(session, state, result)
        with self.gallery.writing() as session:
            state = self._state(session)
            return self._write(session, state, self._cluster(state))

    def _state(self, session: Session) -> _ClusteringState:
        names = self._names(session)
        return _ClusteringState(self._faces(session), {c: subject for c, (subject, _) in names.items()},
                                self._ruled_out(session), self._next_cluster_number(session))

    def _next_cluster_number(self, session: Session) -> int:
        """Above every cluster row (ids are unique across collections) and every number this collection handed
        out."""
        numbering = session.get(LibraryNumbering, self._collection)
        return max(session.scalar(select(func.max(LibraryCluster.id))) or 0,
                   0 if numbering is None else numbering.last_cluster) + 1

    def _cluster(self, state: _ClusteringState) -> Clustering:
        faces = state.faces
        return cluster(faces.embeddings, faces.clusters, faces.shots(), faces.quality, self.threshold, state.next_id,
                       Constraints(state.person, state.ruled_out))

    def _write(self, session: Session, state: _ClusteringState, result: Clustering) -> ClusterReport:
        faces = state.faces
        waiting = faces.clusters < 0
        new = sorted({int(c) for c in result.labels[waiting & (result.labels >= state.next_id)]})
        session.add_all([LibraryCluster(id=c, collection_id=self._collection) for c in new])
        if new:
            keep_number(session, self._collection, new[-1])
        session.flush()
        for old, kept in result.merged.items():
            merge_clusters(session, self._collection, old, kept)
        changed = np.flatnonzero(result.labels != faces.clusters)
        if len(changed):
            session.execute(update(LibraryFace), [
                {"id": int(faces.ids[i]), "cluster_id": None if result.labels[i] < 0 else int(result.labels[i])}
                for i in changed])
        session.commit()
        joined_named = int(np.isin(result.labels[waiting], list(state.person)).sum())
        return ClusterReport(clustered=int(waiting.sum()), new_clusters=len(new), joined_named=joined_named,
                             merged=len(result.merged), unclustered=int((result.labels < 0).sum()))

    # ---- people ----------------------------------------------------------------------------------------------

    def people(self, limit: int | None = None, named: bool | None = None) -> list[dict]:
        """Named people, then unnamed clusters, biggest first (only one kind with `named`; the first `limit`):
        cluster, name (None), faces, photos (those still found at a path: a deleted or replaced photo's faces stay
        in their cluster, for a later move), a sample face (the best-quality one of a photo still found, if any: a
        path where its photo is and its box)."""
        with Session(self.gallery.engine) as session:
            faces = self._faces(session)
            names = self._names(session)
            ids, members = faces.groups()
            order = sorted((k for k in range(len(ids)) if named is None or (int(ids[k]) in names) == named),
                           key=lambda k: (int(ids[k]) not in names, -len(members[k]), int(ids[k])))[:limit]
            paths = self._paths(session, np.concatenate([faces.files[members[k]] for k in order] or [[]]))
            found = np.isin(faces.files, list(paths))  # a file with a path: its photo is still found
            samples = [faces.best(members[k][found[members[k]]] if found[members[k]].any() else members[k])
                       for k in order]
            boxes = self._column(session, LibraryFace.box, faces.ids[samples])
        return [{"cluster": int(ids[k]), "name": names.get(int(ids[k]), (None, None))[1], "faces": len(members[k]),
                 "photos": len(np.unique(faces.files[members[k]][found[members[k]]])),
                 "sample_path": paths.get(int(faces.files[best]), [None])[0],
                 "sample_box": boxes[int(faces.ids[best])], "sample_frame_ms": faces.frame_ms(best),
                 "sample_face": int(faces.ids[best])}
                for k, best in zip(order, samples, strict=True)]

    def _paths(self, session: Session, files: Iterable[int]) -> dict[int, list[str]]:
        """The current paths of each file (none if it is no longer found), in order."""
        wanted = sorted({int(f) for f in files})
        found: dict[int, list[str]] = {}
        for chunk in range(0, len(wanted), 500):
            for file_id, path in session.execute(select(LibraryPath.file_id, LibraryPath.path)
                                                 .where(LibraryPath.file_id.in_(wanted[chunk:chunk + 500]))
                                                 .order_by(LibraryPath.path)):
                found.setdefault(file_id, []).append(path)
        return found

    def name(self, cluster_id: int, name: str) -> dict:
        """Name a cluster: it becomes (or joins) the gallery person `name`, with its best faces as samples."""
        name = name.strip()
        if not name:
            raise LabellingError("a name cannot be empty")
        with Session(self.gallery.engine) as session:
            self._existing_cluster(session, cluster_id)
            names = self._names(session)
            current = names.get(cluster_id)
            person = _cluster_of(names, name)
            if person is not None and person[0] != cluster_id:  # checked before the gallery changes
                refuse_shared_shot(session, person[0], cluster_id)
            if current and current[1] != name:
                raise LabellingError(f"cluster {cluster_id} is already '{current[1]}' (rename the person with "
                                     f"`faceatlas gallery rename`)")
            if current:
                return {"cluster": cluster_id, "name": name, "samples_added": 0,
                        "faces": int(session.scalar(select(func.count(LibraryFace.id))
                                                    .where(LibraryFace.cluster_id == cluster_id)))}
            faces = self._faces(session)
            members = np.flatnonzero(faces.clusters == cluster_id)
            chosen = self._samples(faces, members)
            paths = self._paths(session, faces.files[chosen])
            contents = dict(session.execute(select(LibraryFile.id, LibraryFile.sha256).where(
                LibraryFile.id.in_([int(f) for f in faces.files[chosen]]))).all())
            boxes = self._column(session, LibraryFace.box, faces.ids[chosen])
            thumbnails = self._column(session, LibraryFace.thumbnail, faces.ids[chosen])
        sources = [face_source(paths.get(int(faces.files[i]), [""])[0], int(faces.ids[i]), faces.frame_ms(i),
                               contents[int(faces.files[i])]) for i in chosen]
        self.gallery.add_faces(name, faces.embeddings[chosen], [None if np.isnan(q) else float(q)
                                                                for q in faces.quality[chosen]],
                               [boxes[int(faces.ids[i])] for i in chosen], sources,
                               [thumbnails[int(faces.ids[i])] for i in chosen])
        with self.gallery.writing() as session:
            subject_id = session.scalar(select(Subject.id).where(Subject.collection_id == self._collection,
                                                                 Subject.name == name))
            person_cluster = session.scalar(select(LibraryCluster.id).where(LibraryCluster.subject_id == subject_id))
            session.execute(delete(LibraryNotPerson).where(LibraryNotPerson.cluster_id == cluster_id,
                                                           LibraryNotPerson.subject_id == subject_id))
            kept = cluster_id
            if person_cluster is None:
                session.get(LibraryCluster, cluster_id).subject_id = subject_id
            elif person_cluster != cluster_id:  # a second cluster of the same person: join them (must-link)
                kept = min(person_cluster, cluster_id)
                merge_clusters(session, self._collection, max(person_cluster, cluster_id), kept)
            session.commit()
            total = session.scalar(select(func.count(LibraryFace.id)).where(LibraryFace.cluster_id == kept))
        return {"cluster": kept, "name": name, "faces": int(total), "samples_added": len(chosen)}

    def _samples(self, faces: FaceTable, members: np.ndarray) -> list[int]:
        """The faces of a cluster that become gallery samples: best quality first, above the gallery's quality gate,
        at most `NAME_SAMPLES_PER_FILE` from one file."""
        taken: Counter[int] = Counter()
        chosen = []
        for i in members[np.argsort(-np.nan_to_num(faces.quality[members], nan=1.0), kind="stable")]:
            file = int(faces.files[i])
            if not faces.quality[i] < self.gallery.min_quality and taken[file] < NAME_SAMPLES_PER_FILE:
                taken[file] += 1
                chosen.append(int(i))
        return chosen[:NAME_SAMPLES]

    # ---- review ----------------------------------------------------------------------------------------------

    def queue(self, limit: int | None = None) -> list[ReviewItem]:
        """Unnamed clusters that may be a named person (average similarity in the review band, and not ruled out),
        biggest first, then most similar first."""
        with Session(self.gallery.engine) as session:
            faces = self._faces(session)
            names = self._names(session)
            ruled_out = self._ruled_out(session)
            if not names:
                return []
            ids, members = faces.groups()
            sums, counts = faces.sums(members)
            is_named = np.isin(ids, list(names))
            floor = self.review_floor(len(names))
            named, unnamed = np.flatnonzero(is_named), np.flatnonzero(~is_named)
            linkage = (sums[unnamed] @ sums[named].T) / np.outer(counts[unnamed], counts[named])
            subjects = [names[int(ids[n])][0] for n in named]
            for row, u in enumerate(unnamed):
                for subject_id in ruled_out.get(int(ids[u]), ()):
                    if subject_id in subjects:
                        linkage[row, subjects.index(subject_id)] = -np.inf
            items = []
            for row, u in enumerate(unnamed):
                column = int(np.argmax(linkage[row]))
                if linkage[row, column] < floor:
                    continue
                items.append((int(ids[u]), len(members[u]), column, float(linkage[row, column]),
                              faces.best(members[u])))
            items.sort(key=lambda item: (-item[1], -item[3], item[0]))
            items = items[:limit]
            paths = self._paths(session, [faces.files[item[4]] for item in items])
            boxes = self._column(session, LibraryFace.box, [faces.ids[item[4]] for item in items])
        return [ReviewItem(cluster=c, faces=n, name=names[int(ids[named[column]])][1], subject_id=subjects[column],
                           score=round(score, 4), sample_path=paths.get(int(faces.files[best]), [None])[0],
                           sample_box=boxes[int(faces.ids[best])], sample_frame_ms=faces.frame_ms(best),
                           sample_face=int(faces.ids[best]))
                for c, n, column, score, best in items]

    def answer(self, item: ReviewItem, reply: str) -> dict:
        """"yes": the cluster is that person; "no": it is not (never asked again); "skip": ask later; any other
        text: the cluster is the person of that name."""
        reply = reply.strip()
        if reply.lower() in ("yes", "y"):
            return self.name(item.cluster, item.name)
        if reply.lower() in ("no", "n"):
            with self.gallery.writing() as session:
                session.merge(LibraryNotPerson(cluster_id=item.cluster, subject_id=item.subject_id))
                session.commit()
            return {"cluster": item.cluster, "not": item.name}
        if reply.lower() in ("skip", "s", ""):
            return {"cluster": item.cluster, "skipped": True}
        return self.name(item.cluster, reply)

    def merge(self, first: int, second: int) -> dict:
        """Clusters `first` and `second` are one person (a must-link): they join under the older number. A named one
        names the other (as `name` does); two people are merged in the gallery (`Gallery.merge`), not here."""
        with Session(self.gallery.engine) as session:
            for cluster_id in (first, second):
                self._existing_cluster(session, cluster_id)
            names = self._names(session)
        if first == second:
            raise LabellingError(f"cluster {first} is already one cluster")
        named = [names[c][1] for c in (first, second) if c in names]
        if len(named) == 2:
            raise LabellingError(f"clusters {first} and {second} are '{named[0]}' and '{named[1]}': merge the people "
                                 f"with `faceatlas gallery merge '{named[1]}' '{named[0]}'`")
        if named:
            return self.name(second if first in names else first, named[0])
        with self.gallery.writing() as session:
            refuse_shared_shot(session, first, second)
            kept = min(first, second)
            merge_clusters(session, self._collection, max(first, second), kept)
            session.commit()
            faces = session.scalar(select(func.count(LibraryFace.id)).where(LibraryFace.cluster_id == kept))
        return {"cluster": kept, "name": None, "faces": int(faces)}

    def unlabel(self, path: str | Path, name: str) -> dict:
        """`name` is not who is in the photo (or video) at `path`: that person's faces there leave their cluster for
        a new one that may never join them (a cannot-link), and those that were their gallery samples are removed.
        The photo is the one indexed at `path`, else (a path the index did not take to it: through a link) the one
        with the content of the file there."""
        where = os.path.abspath(Path(path).expanduser())
        with Session(self.gallery.engine) as session:
            file_id = session.scalar(select(LibraryPath.file_id).where(LibraryPath.collection_id == self._collection,
                                                                       LibraryPath.path == where))
            if file_id is None and os.path.isfile(where):
                file_id = session.scalar(select(LibraryFile.id).where(LibraryFile.collection_id == self._collection,
                                                                      LibraryFile.sha256 == sha256_file(where)))
        if file_id is None:
            raise LabellingError(f"{where} is not in this library (see `faceatlas library photos`)")
        with self.gallery.writing() as session:
            person = _cluster_of(self._names(session), name)
            if person is None:
                raise LabellingError(f"no person named '{name}' in this library")
            cluster_id, subject_id = person
            faces = list(session.scalars(select(LibraryFace.id).where(LibraryFace.file_id == file_id,
                                                                      LibraryFace.cluster_id == cluster_id)))
            if not faces:
                raise LabellingError(f"'{name}' is not labelled in {where}")
            if session.scalar(select(func.count(LibraryFace.id)).where(LibraryFace.cluster_id == cluster_id)) \
                    == len(faces):
                raise LabellingError(f"{where} holds every face of '{name}' in this library: rename or erase the "
                                     f"person instead (`faceatlas gallery rename` / `erase`)")
            new = self._next_cluster_number(session)
            session.add(LibraryCluster(id=new, collection_id=self._collection))
            keep_number(session, self._collection, new)
            session.flush()
            session.add(LibraryNotPerson(cluster_id=new, subject_id=subject_id))
            session.execute(update(LibraryFace).where(LibraryFace.id.in_(faces)).values(cluster_id=new))
            session.commit()
        samples = [sample["id"] for sample in self.gallery.show(name)["samples"]
                   if fragment_face(sample["source"]) in faces]
        removed = self.gallery.remove_samples(name, samples) if samples else 0
        return {"path": where, "name": name, "faces": len(faces), "cluster": new, "samples_removed": removed}

    def forget(self, cluster_id: int) -> dict:
        """Erase an unnamed cluster's faces (records and embeddings, down to the database's free pages). The photos
        stay where they are and, unchanged, are not analysed again, so the faces do not come back; a named cluster
        is erased with its person (`Gallery.erase`)."""
        with self.gallery.writing() as session:
            forgotten = self._existing_cluster(session, cluster_id)
            if forgotten.subject_id is not None:
                name = self._names(session)[cluster_id][1]
                raise LabellingError(f"cluster {cluster_id} is '{name}': erase the person with `faceatlas gallery "
                                     f"erase '{name}'` (their library faces go with them)")
            faces = session.execute(delete(LibraryFace).where(LibraryFace.cluster_id == cluster_id)).rowcount
            session.delete(forgotten)
            keep_number(session, self._collection, cluster_id)
            session.commit()
        self._cache = None
        compact(self.gallery.engine)
        return {"cluster": cluster_id, "faces_erased": faces}

    # ---- photos ----------------------------------------------------------------------------------------------

    def photos(self, person: str | None = None, like: ImageSource | None = None) -> list[dict]:
        """The photos where `person` appears, or whoever is in the photo `like` (each of its faces matched to the
        cluster it resembles most, if that clears the clustering threshold): one row per face found, with its
        path, box, cluster, name and its similarity to its cluster (how sure the assignment is)."""
        if (person is None) == (like is None):
            raise LabellingError("ask for the photos of a person or of the people like a photo (one of the two)")
        query = None if like is None else self._query_embeddings(like)  # analysed before the database is read
        with Session(self.gallery.engine) as session:
            faces = self._faces(session)
            names = self._names(session)
            ids, members = faces.groups()
            sums, counts = faces.sums(members)
            if person is not None:
                found = _cluster_of(names, person)
                if found is None:
                    known = session.scalar(select(Subject.id).where(Subject.collection_id == self._collection,
                                                                    Subject.name == person))
                    raise LabellingError(f"'{person}' is in the gallery but names no cluster of the library yet"
                                         if known else f"no person named '{person}' in this library")
                wanted = {found[0]}
            else:
                wanted = self._like(query, ids, sums, counts)
            rows = np.flatnonzero(np.isin(faces.clusters, list(wanted)))
            paths = self._paths(session, faces.files[rows])
            boxes = self._column(session, LibraryFace.box, faces.ids[rows])
        position = {int(c): k for k, c in enumerate(ids)}
        found = []
        for i in rows:
            k = position[int(faces.clusters[i])]
            similarity = float((sums[k] @ faces.embeddings[i] - 1) / max(counts[k] - 1, 1)) if counts[k] > 1 else 1.0
            for path in paths.get(int(faces.files[i]), []):
                found.append({"path": path, "box": boxes[int(faces.ids[i])], "frame_ms": faces.frame_ms(i),
                              "cluster": int(faces.clusters[i]),
                              "name": names.get(int(faces.clusters[i]), (None, None))[1],
                              "similarity": round(similarity, 4)})
        return sorted(found, key=lambda row: (row["path"], row["cluster"]))

    def _query_embeddings(self, image: ImageSource) -> np.ndarray:
        """The embedding of every face in a query photo."""
        faces = self.gallery.analyzer.analyze(image)
        if len(faces) == 0:
            raise LabellingError(f"no face found in {image if isinstance(image, str | Path) else 'the query photo'}")
        return faces.embeddings

    def _like(self, query: np.ndarray, ids: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> set[int]:
        """The clusters the query faces resemble most, where that clears the clustering threshold."""
        if not len(ids):
            return set()
        similarity = query @ sums.T / counts
        best = similarity.argmax(1)
        return {int(ids[b]) for row, b in enumerate(best) if similarity[row, b] >= self.threshold}


def _cluster_of(names: dict[int, tuple[int, str]], person: str) -> tuple[int, int] | None:
    """The cluster named `person` and their subject id, from `Labelling._names`; None if no cluster is."""
    return next(((cluster_id, subject) for cluster_id, (subject, name) in names.items() if name == person), None)


def keep_number(session: Session, collection_id: int, number: int) -> None:
    """Cluster `number` was handed out (or is going away): no new cluster of the collection is ever given it."""
    numbering = session.get(LibraryNumbering, collection_id)
    if numbering is None:
        session.add(LibraryNumbering(collection_id=collection_id, last_cluster=number))
    else:
        numbering.last_cluster = max(numbering.last_cluster, number)


def merge_clusters(session: Session, collection_id: int, old: int, kept: int) -> None:
    """Cluster `old` joined `kept`: its faces, name and ruled-out people move over, its row goes."""
    gone = session.get(LibraryCluster, old)
    keep = session.get(LibraryCluster, kept)
    if gone.subject_id is not None and keep.subject_id is None:
        subject_id, gone.subject_id = gone.subject_id, None
        session.flush()  # the name is unique to one cluster: free it first
        keep.subject_id = subject_id
        session.flush()
    session.execute(update(LibraryFace).where(LibraryFace.cluster_id == old).values(cluster_id=kept))
    have = set(session.scalars(select(LibraryNotPerson.subject_id).where(LibraryNotPerson.cluster_id == kept)))
    moving = select(LibraryNotPerson.subject_id).where(LibraryNotPerson.cluster_id == old)
    for subject_id in session.scalars(moving):
        if subject_id not in have and subject_id != keep.subject_id:
            session.add(LibraryNotPerson(cluster_id=kept, subject_id=subject_id))
    session.flush()
    session.delete(gone)
    keep_number(session, collection_id, old)


def refuse_shared_shot(session: Session, first: int, second: int) -> None:
    """Two clusters with a face in one photo (or video frame) are two people: joining them is refused."""
    def shots(cluster_id: int) -> Select:
        return select(LibraryFace.file_id, func.coalesce(LibraryFace.frame_ms, -1)).where(
            LibraryFace.cluster_id == cluster_id)

    shared = session.execute(shots(first).intersect(shots(second)).limit(1)).first()
    if shared is not None:
        path = session.scalar(select(LibraryPath.path).where(LibraryPath.file_id == shared[0])) or "a photo"
        frame = "" if shared[1] < 0 else f" at {shared[1] / 1000:.1f} s"
        raise LabellingError(f"clusters {first} and {second} both have a face in {path}{frame}: two faces seen "
                             f"together are two people")


def merge_person_clusters(session: Session, collection_id: int, source: int, target: int) -> None:
    """Gallery person `source` is being merged into `target` (`Gallery.merge`): their library clusters become one,
    named `target`, and a cluster the user said is not `source` is not `target` either. Without this, deleting
    `source` would take their library faces with it (as erasing a person does)."""
    if not inspect(session.connection()).has_table(LibraryCluster.__tablename__):
        return  # a gallery without a photo library
    clusters = {subject: session.scalar(select(LibraryCluster).where(LibraryCluster.subject_id == subject))
                for subject in (source, target)}
    if clusters[source] is not None and clusters[target] is not None:
        refuse_shared_shot(session, clusters[source].id, clusters[target].id)
    if clusters[source] is not None:
        clusters[source].subject_id = None
        session.flush()  # the name is unique to one cluster
        if clusters[target] is None:
            clusters[source].subject_id = target
            clusters[target] = clusters[source]
        else:
            old, kept = sorted((clusters[source].id, clusters[target].id), reverse=True)
            merge_clusters(session, collection_id, old, kept)
            clusters[target] = session.get(LibraryCluster, kept)
    for ruled in session.scalars(select(LibraryNotPerson).where(LibraryNotPerson.subject_id == source)).all():
        if ruled.cluster_id != getattr(clusters[target], "id", None) and session.get(
                LibraryNotPerson, (ruled.cluster_id, target)) is None:
            session.add(LibraryNotPerson(cluster_id=ruled.cluster_id, subject_id=target))
        session.delete(ruled)
    session.flush()
