"""Hooks through which layers built on the gallery keep their own data in step with gallery changes, without the
gallery knowing them: a photo library's clusters belong to gallery people, so a merge of two people must join their
clusters before the source person's row (and, by cascade, whatever hangs on it) is deleted; and an erasure must take
the copies other layers hold of the person's samples (the library's record of the very face a sample came from).

A merge hook is `hook(session, collection_id, source_subject_id, target_subject_id)`, an erase hook
`hook(session, collection_id, embeddings)` (the person's sample vectors, as stored), each run inside the change's
transaction. FaceAtlas's own photo library is declared here by name (imported only when a change runs, so the gallery
never imports it and a change from any door, without the library loaded, keeps its data in step); other packages
add theirs to the entry-point groups `faceatlas.gallery_merge_hooks` and `faceatlas.gallery_erase_hooks`, or call
`MERGE_HOOKS.register(name)(hook)`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from faceatlas.registries import Registry

MergeHook = Callable[[Session, int, int, int], None]
EraseHook = Callable[[Session, int, list[bytes]], None]

MERGE_HOOKS: Registry[MergeHook] = Registry("gallery merge hook", "faceatlas.gallery_merge_hooks")
MERGE_HOOKS.declare("library", "faceatlas.organize.merging:merge_person_clusters")


def before_merge(session: Session, collection_id: int, source: int, target: int) -> None:
    """Run every merge hook: person `source` is about to be merged into `target`."""
    for name in MERGE_HOOKS.names():
        MERGE_HOOKS.get(name)(session, collection_id, source, target)


ERASE_HOOKS: Registry[EraseHook] = Registry("gallery erase hook", "faceatlas.gallery_erase_hooks")
ERASE_HOOKS.declare("library", "faceatlas.organize.copies:forget_copies")


def before_erase(session: Session, collection_id: int, embeddings: list[bytes]) -> None:
    """Run every erase hook: the person whose samples are `embeddings` is being erased."""
    for name in ERASE_HOOKS.names():
        ERASE_HOOKS.get(name)(session, collection_id, embeddings)
