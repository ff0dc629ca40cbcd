"""The library's copies of a gallery person's faces: a sample made from a library face, or enrolled from a photo the
library also indexed, holds the very vector of a library face. Erasing the person erases those faces too (the gallery
erase hook), or the proof that none of their bytes is left could never hold."""

from __future__ import annotations

from sqlalchemy import delete, inspect
from sqlalchemy.orm import Session

from faceatlas.organize.schema import LibraryFace


def forget_copies(session: Session, collection_id: int, embeddings: list[bytes]) -> None:
    """Delete the library faces of the collection whose embedding is one of `embeddings` (byte for byte)."""
    if not embeddings or not inspect(session.connection()).has_table(LibraryFace.__tablename__):
        return  # a gallery without a photo library
    for start in range(0, len(embeddings), 500):
        session.execute(delete(LibraryFace).where(LibraryFace.collection_id == collection_id,
                                                  LibraryFace.embedding.in_(embeddings[start:start + 500])))
