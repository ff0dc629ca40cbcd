"""Looking through a photo library: its people (named, then unnamed clusters, biggest first) and the photos of a
person or of whoever is in a query photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from faceatlas.errors import LabellingError, NoFaceError
from faceatlas.gallery.schema import Subject
from faceatlas.io.image import ImageSource
from faceatlas.organize.faces import LibraryView, cluster_of
from faceatlas.organize.results import ClusterSummary, PhotoMatch
from faceatlas.organize.schema import LibraryFace


def people(view: LibraryView, limit: int | None = None, named: bool | None = None) -> list[ClusterSummary]:
    """Named people, then unnamed clusters, biggest first (only one kind with `named`; the first `limit`), each with
    its photos (those still found at a path: a deleted or replaced photo's faces stay in their cluster, for a later
    move) and a sample face (the best-quality one of a photo still found, if any)."""
    with Session(view.gallery.engine) as session:
        faces = view.faces(session)
        names = view.names(session)
        ids, members = faces.groups()
        order = sorted((k for k in range(len(ids)) if named is None or (int(ids[k]) in names) == named),
                       key=lambda k: (int(ids[k]) not in names, -len(members[k]), int(ids[k])))[:limit]
        paths = view.paths(session, np.concatenate([faces.files[members[k]] for k in order] or [[]]))
        found = np.isin(faces.files, list(paths))  # a file with a path: its photo is still found
        samples = [faces.best(members[k][found[members[k]]] if found[members[k]].any() else members[k])
                   for k in order]
        boxes = view.column(session, LibraryFace.box, faces.ids[samples])
    return [ClusterSummary(cluster=int(ids[k]), name=names.get(int(ids[k]), (None, None))[1], faces=len(members[k]),
                           photos=len(np.unique(faces.files[members[k]][found[members[k]]])),
                           sample_path=paths.get(int(faces.files[best]), [None])[0],
                           sample_box=boxes[int(faces.ids[best])], sample_frame_ms=faces.frame_ms(best),
                           sample_face=int(faces.ids[best]))
            for k, best in zip(order, samples, strict=True)]


def photos(view: LibraryView, threshold: float, person: str | None = None, like: ImageSource | None = None
           ) -> list[PhotoMatch]:
    """The photos where `person` appears, or whoever is in the photo `like` (each of its faces matched to the
    cluster it resembles most, if that clears `threshold`): one row per face found and path, with its cluster's
    name and its similarity to its cluster (how sure the assignment is)."""
    if (person is None) == (like is None):
        raise LabellingError("ask for the photos of a person or of the people like a photo (one of the two)")
    query = None if like is None else _query_embeddings(view, like)  # analysed before the database is read
    with Session(view.gallery.engine) as session:
        faces = view.faces(session)
        names = view.names(session)
        ids, members = faces.groups()
        sums, counts = faces.sums(members)
        if person is not None:
            found = cluster_of(names, person)
            if found is None:
                known = session.scalar(select(Subject.id).where(Subject.collection_id == view.collection,
                                                                Subject.name == person))
                raise LabellingError(f"'{person}' is in the gallery but names no cluster of the library yet"
                                     if known else f"no person named '{person}' in this library")
            wanted = {found[0]}
        else:
            wanted = _like(query, ids, sums, counts, threshold)
        rows = np.flatnonzero(np.isin(faces.clusters, list(wanted)))
        paths = view.paths(session, faces.files[rows])
        boxes = view.column(session, LibraryFace.box, faces.ids[rows])
    position = {int(c): k for k, c in enumerate(ids)}
    matches = []
    for i in rows:
        k = position[int(faces.clusters[i])]
        similarity = float((sums[k] @ faces.embeddings[i] - 1) / max(counts[k] - 1, 1)) if counts[k] > 1 else 1.0
        matches += [PhotoMatch(path=path, box=boxes[int(faces.ids[i])], frame_ms=faces.frame_ms(i),
                               cluster=int(faces.clusters[i]), name=names.get(int(faces.clusters[i]), (None, None))[1],
                               similarity=round(similarity, 4))
                    for path in paths.get(int(faces.files[i]), [])]
    return sorted(matches, key=lambda match: (match.path, match.cluster))


def _query_embeddings(view: LibraryView, image: ImageSource) -> np.ndarray:
    """The embedding of every face in a query photo."""
    faces = view.gallery.analyzer.analyze(image)
    if len(faces) == 0:
        raise NoFaceError(f"no face found in {image if isinstance(image, str | Path) else 'the query photo'}")
    return faces.embeddings


def _like(query: np.ndarray, ids: np.ndarray, sums: np.ndarray, counts: np.ndarray, threshold: float) -> set[int]:
    """The clusters the query faces resemble most, where that clears `threshold`."""
    if not len(ids):
        return set()
    similarity = query @ sums.T / counts
    best = similarity.argmax(1)
    return {int(ids[b]) for row, b in enumerate(best) if similarity[row, b] >= threshold}
