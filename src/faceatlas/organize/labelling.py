"""Clustering a photo library's faces into people and naming them (a named cluster is a gallery person); the
corrections a user makes: two clusters are one person, a person is not in a photo, a stranger's cluster forgotten.

Labelling is progressive. A new face that clears the clustering threshold against a named person's cluster joins it
and is labelled (automatically, at a calibrated false-match rate); a cluster that resembles a named person less
than that but more than the review floor is queued for review (`review`). A "yes" or a name joins the cluster to the
person (a must-link) and adds its best faces to the person's gallery samples; a "no" forbids that person for that
cluster (a cannot-link) for every later run.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from faceatlas.errors import LabellingError
from faceatlas.gallery import Gallery, edits, erasure
from faceatlas.gallery.schema import Subject
from faceatlas.io.files import sha256_file
from faceatlas.io.image import shown
from faceatlas.organize.clustering import Clustering, Constraints, cluster
from faceatlas.organize.faces import FaceTable, LibraryView, cluster_of
from faceatlas.organize.merging import keep_number, merge_clusters, refuse_shared_shot
from faceatlas.organize.results import ClusterReport, Forgetting, Naming, Unlabelling
from faceatlas.organize.schema import LibraryCluster, LibraryFace, LibraryFile, LibraryNotPerson, LibraryPath
from faceatlas.organize.sources import face_source, fragment_face
from faceatlas.pipeline import calibrated_threshold

CLUSTER_FMR = 1e-5
"""Faces and clusters join when their average similarity clears the threshold calibrated at this false-match rate
per comparison (BCubed F 0.992 on LFW View 1; see docs/results/lfw-clustering.json)."""

UNLOCKED_TRIES = 2
"""Clusterings run outside the writer lock before one runs under it (each is thrown away if a name, an answer or
another run changed the clusters meanwhile)."""

NAME_SAMPLES = 20
"""Faces of a cluster (best quality first) added to the person's gallery samples when it is named or confirmed."""

NAME_SAMPLES_PER_FILE = 5
"""At most this many of those samples from one file: a video's frames, seconds apart, are near-copies of one another
(a photo has at most one face of a cluster)."""


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

    def __init__(self, gallery: Gallery, view: LibraryView | None = None) -> None:
        self.gallery = gallery
        self.view = view or LibraryView(gallery)
        self.threshold = calibrated_threshold(gallery.analyzer.recogniser_card, CLUSTER_FMR)

    @property
    def _collection(self) -> int:
        return self.gallery.collection_id

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
        names = self.view.names(session)
        return _ClusteringState(self.view.faces(session), {c: subject for c, (subject, _) in names.items()},
                                self.view.ruled_out(session), self.view.next_cluster_number(session))

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

    # ---- naming ----------------------------------------------------------------------------------------------

    def name(self, cluster_id: int, name: str) -> Naming:
        """Name a cluster: it becomes (or joins) the gallery person `name`, with its best faces as samples."""
        name = name.strip()
        if not name:
            raise LabellingError("a name cannot be empty")
        with Session(self.gallery.engine) as session:
            self.view.cluster(session, cluster_id)
            names = self.view.names(session)
            current = names.get(cluster_id)
            person = cluster_of(names, name)
            if person is not None and person[0] != cluster_id:  # checked before the gallery changes
                refuse_shared_shot(session, person[0], cluster_id)
            if current and current[1] != name:
                raise LabellingError(f"cluster {cluster_id} is already '{current[1]}' (rename the person with "
                                     f"`faceatlas gallery rename`)")
            if current:
                return Naming(cluster_id, name, self._count(session, cluster_id))
            faces = self.view.faces(session)
            members = np.flatnonzero(faces.clusters == cluster_id)
            chosen = self._samples(faces, members)
            paths = self.view.paths(session, faces.files[chosen])
            contents = dict(session.execute(select(LibraryFile.id, LibraryFile.sha256).where(
                LibraryFile.id.in_([int(f) for f in faces.files[chosen]]))).all())
            boxes = self.view.column(session, LibraryFace.box, faces.ids[chosen])
            thumbnails = self.view.column(session, LibraryFace.thumbnail, faces.ids[chosen])
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
            return Naming(kept, name, self._count(session, kept), samples_added=len(chosen),
                          face_ids=[int(faces.ids[i]) for i in members])

    def _count(self, session: Session, cluster_id: int) -> int:
        return int(session.scalar(select(func.count(LibraryFace.id)).where(LibraryFace.cluster_id == cluster_id)))

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

    # ---- corrections -----------------------------------------------------------------------------------------

    def merge(self, first: int, second: int) -> Naming:
        """Clusters `first` and `second` are one person (a must-link): they join under the older number. A named one
        names the other (as `name` does); two people are merged in the gallery (`Gallery.merge`), not here."""
        with Session(self.gallery.engine) as session:
            for cluster_id in (first, second):
                self.view.cluster(session, cluster_id)
            names = self.view.names(session)
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
            return Naming(kept, None, self._count(session, kept))

    def unlabel(self, path: str | Path, name: str) -> Unlabelling:
        """`name` is not who is in the photo (or video) at `path`: that person's faces there leave their cluster for
        a new one that may never join them (a cannot-link), and those that were their gallery samples are removed.
        The photo is the one indexed at `path`, else (a path the index did not take to it: through a link) the one
        with the content of the file there."""
        real = os.path.abspath(Path(path).expanduser())
        where = shown(real)  # as paths are stored
        with Session(self.gallery.engine) as session:
            file_id = session.scalar(select(LibraryPath.file_id).where(LibraryPath.collection_id == self._collection,
                                                                       LibraryPath.path == where))
            if file_id is None and os.path.isfile(real):
                file_id = session.scalar(select(LibraryFile.id).where(LibraryFile.collection_id == self._collection,
                                                                      LibraryFile.sha256 == sha256_file(real)))
        if file_id is None:
            raise LabellingError(f"{where} is not in this library (see `faceatlas library photos`)")
        with self.gallery.writing() as session:
            cluster_id, subject_id = self._person(session, name)
            faces = list(session.scalars(select(LibraryFace.id).where(LibraryFace.file_id == file_id,
                                                                      LibraryFace.cluster_id == cluster_id)))
            if not faces:
                raise LabellingError(f"'{name}' is not labelled in {where}")
            if self._count(session, cluster_id) == len(faces):
                raise LabellingError(f"{where} holds every face of '{name}' in this library: rename or erase the "
                                     f"person instead (`faceatlas gallery rename` / `erase`)")
            new = self._split_off(session, faces)
            session.add(LibraryNotPerson(cluster_id=new, subject_id=subject_id))
            session.commit()
        removed = self._remove_samples_from(name, faces)
        return Unlabelling(path=where, name=name, faces=len(faces), cluster=new, samples_removed=removed)

    def unname(self, face_ids: list[int], name: str) -> Naming:
        """Faces named `name` by mistake (a naming taken back) leave the person, without a cannot-link: all of the
        person's library faces make their cluster unnamed again, some of them a new cluster. The gallery samples
        made from them are removed, and a person left without any sample with them (their faces stay in the
        library, unnamed)."""
        with self.gallery.writing() as session:
            cluster_id, _ = self._person(session, name)
            faces = list(session.scalars(select(LibraryFace.id).where(LibraryFace.cluster_id == cluster_id,
                                                                      LibraryFace.id.in_(face_ids))))
            if not faces:
                raise LabellingError(f"none of these faces is '{name}' now: nothing to take back")
            if self._count(session, cluster_id) == len(faces):
                session.get(LibraryCluster, cluster_id).subject_id = None
                new = cluster_id
            else:
                new = self._split_off(session, faces)
            session.commit()
        self._remove_samples_from(name, faces)
        edits.remove_if_empty(self.gallery, name)
        return Naming(new, None, len(faces))

    def _person(self, session: Session, name: str) -> tuple[int, int]:
        """The library cluster and the gallery subject of person `name`."""
        person = cluster_of(self.view.names(session), name)
        if person is None:
            raise LabellingError(f"no person named '{name}' in this library")
        return person

    def _split_off(self, session: Session, faces: list[int]) -> int:
        """Move these faces to a new, unnamed cluster; its number."""
        new = self.view.next_cluster_number(session)
        session.add(LibraryCluster(id=new, collection_id=self._collection))
        keep_number(session, self._collection, new)
        session.flush()
        session.execute(update(LibraryFace).where(LibraryFace.id.in_(faces)).values(cluster_id=new))
        return new

    def _remove_samples_from(self, name: str, faces: list[int]) -> int:
        """Remove the gallery samples of `name` made from these library faces; how many."""
        made = [sample.id for sample in self.gallery.show(name).samples if fragment_face(sample.source) in faces]
        return self.gallery.remove_samples(name, made) if made else 0

    def forget(self, cluster_id: int) -> Forgetting:
        """Erase an unnamed cluster's faces (records and embeddings, down to the database's free pages). The photos
        stay where they are and, unchanged, are not analysed again, so the faces do not come back; a named cluster
        is erased with its person (`Gallery.erase`)."""
        with self.gallery.writing() as session:
            forgotten = self.view.cluster(session, cluster_id)
            if forgotten.subject_id is not None:
                name = self.view.names(session)[cluster_id][1]
                raise LabellingError(f"cluster {cluster_id} is '{name}': erase the person with `faceatlas gallery "
                                     f"erase '{name}'` (their library faces go with them)")
            rows = session.execute(select(LibraryFace.embedding, LibraryFace.thumbnail)
                                   .where(LibraryFace.cluster_id == cluster_id)).all()
            session.execute(delete(LibraryFace).where(LibraryFace.cluster_id == cluster_id))
            session.delete(forgotten)
            keep_number(session, self._collection, cluster_id)
            erasure.mark_pending(session, self.gallery)
            session.commit()
        self.view.forget_cache()
        self.gallery.finish_erasure(erasure.traces(rows))  # proven, or ErasurePendingError
        return Forgetting(cluster=cluster_id, faces_erased=len(rows))
