"""Joining clusters of the photo library: two clusters found (or said) to be one person, and the gallery hook that
keeps a person's clusters when the gallery merges two people (`gallery.hooks`)."""

from __future__ import annotations

from sqlalchemy import Select, func, inspect, select, update
from sqlalchemy.orm import Session

from faceatlas.errors import LabellingError
from faceatlas.organize.schema import LibraryCluster, LibraryFace, LibraryNotPerson, LibraryNumbering, LibraryPath


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
    """The gallery merge hook: person `source` is being merged into `target` (`Gallery.merge`), so their library
    clusters become one, named `target`, and a cluster the user said is not `source` is not `target` either.
    Without this, deleting `source` would take their library faces with it (as erasing a person does)."""
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
