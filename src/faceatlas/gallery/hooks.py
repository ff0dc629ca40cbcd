"""Hooks through which layers built on the gallery keep their own data in step with gallery changes, without the
gallery knowing them: a photo library's clusters belong to gallery people, so a merge of two people must join their
clusters before the source person's row (and, by cascade, whatever hangs on it) is deleted.

A hook is `hook(session, collection_id, source_subject_id, target_subject_id)`, run inside the merge's transaction.
FaceAtlas's own photo library is declared here by name (imported only when a merge runs, so the gallery never
imports it and a merge from any door, without the library loaded, keeps its clusters); other packages add theirs to
the entry-point group `faceatlas.gallery_merge_hooks`, or call `MERGE_HOOKS.register(name)(hook)`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from faceatlas.registries import Registry

MergeHook = Callable[[Session, int, int, int], None]

MERGE_HOOKS: Registry[MergeHook] = Registry("gallery merge hook", "faceatlas.gallery_merge_hooks")
MERGE_HOOKS.declare("library", "faceatlas.organize.merging:merge_person_clusters")


def before_merge(session: Session, collection_id: int, source: int, target: int) -> None:
    """Run every merge hook: person `source` is about to be merged into `target`."""
    for name in MERGE_HOOKS.names():
        MERGE_HOOKS.get(name)(session, collection_id, source, target)
