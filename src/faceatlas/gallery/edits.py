"""Changing who is who in a collection: rename a person, merge two, move samples from one person to another, remove
samples. Each change is one transaction under the collection's write lock, audited, and seen by the index (a removal
rebuilds it without the samples)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update

from faceatlas.errors import GalleryError
from faceatlas.gallery.hooks import before_merge
from faceatlas.gallery.samples import checked_name
from faceatlas.gallery.schema import Sample, Subject

if TYPE_CHECKING:
    from faceatlas.gallery.gallery import Gallery


def rename(gallery: Gallery, old: str, new: str) -> None:
    checked_name(new)
    with gallery.writing() as session:
        subject = gallery._subject(session, old)
        if session.scalar(select(Subject.id).where(Subject.collection_id == gallery.collection_id,
                                                   Subject.name == new)) is not None:
            raise GalleryError(f"a person named '{new}' already exists; merge instead")
        subject.name = new
        gallery.vectors.changed(gallery._commit(session, "rename", {"subject_id": subject.id}))


def merge(gallery: Gallery, source: str, target: str) -> int:
    """Data of other layers that belongs to `source` (a photo library's clusters) follows through `gallery.hooks`."""
    if source == target:
        raise GalleryError(f"'{source}' cannot be merged into themselves")
    with gallery.writing() as session:
        moving, keeping = gallery._subject(session, source), gallery._subject(session, target)
        moved = session.execute(update(Sample).where(Sample.subject_id == moving.id)
                                .values(subject_id=keeping.id)).rowcount
        before_merge(session, gallery.collection_id, moving.id, keeping.id)
        session.delete(moving)
        gallery.vectors.changed(gallery._commit(session, "merge", {"subject_id": moving.id, "into": keeping.id,
                                                                   "samples": moved}))
    return int(moved)


def remove_samples(gallery: Gallery, name: str, sample_ids: Iterable[int]) -> int:
    with gallery.writing() as session:
        subject = gallery._subject(session, name)
        removed = session.execute(delete(Sample).where(Sample.subject_id == subject.id,
                                                       Sample.id.in_([int(i) for i in sample_ids]))).rowcount
        if removed:
            gallery._commit_removal(session, "remove_samples", {"subject_id": subject.id, "samples": removed})
    return int(removed)


def move_samples(gallery: Gallery, name: str, sample_ids: Iterable[int], to: str) -> int:
    """Samples that are not `name`'s are refused by id (nothing moves); the person left without samples stays."""
    wanted = {int(i) for i in sample_ids}
    if name == to:
        raise GalleryError(f"the samples are already '{to}''s")
    with gallery.writing() as session:
        subject = gallery._subject(session, name)
        owned = set(session.scalars(select(Sample.id).where(Sample.subject_id == subject.id,
                                                            Sample.id.in_(wanted))))
        if wanted - owned:
            raise GalleryError(f"sample(s) {', '.join(map(str, sorted(wanted - owned)))} are not '{name}''s")
        target = gallery.subject_named(session, to)
        moved = session.execute(update(Sample).where(Sample.id.in_(owned)).values(subject_id=target.id)).rowcount
        gallery.vectors.changed(gallery._commit(session, "move", {"subject_id": subject.id, "into": target.id,
                                                                  "samples": moved}))
    return int(moved)


def remove_if_empty(gallery: Gallery, name: str) -> bool:
    """Remove person `name` if they have no sample left (nothing of theirs to erase); whether they were."""
    with gallery.writing() as session:
        subject = gallery._subject(session, name)
        if session.scalar(select(Sample.id).where(Sample.subject_id == subject.id).limit(1)) is not None:
            return False
        session.delete(subject)
        gallery.vectors.changed(gallery._commit(session, "remove_empty", {"subject_id": subject.id}))
    return True
