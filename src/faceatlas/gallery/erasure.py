"""Erasing a person, proven: their rows deleted (SQLite zeroes deleted content: `secure_delete`), the vector index
rebuilt without them, the database compacted, and the gallery's files searched for their embeddings and thumbnails.

Another connection's open read snapshot (SQLite) or transaction (PostgreSQL) can keep old pages in the files for a
while. Then the erasure says so (`ErasurePendingError`) and marks the collection; `Gallery.check`, or any later
`finish`, completes the compaction once that connection has closed (a complete checkpoint after a vacuum leaves no
deleted byte in a SQLite file; VACUUM FULL rewrites PostgreSQL's tables).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from faceatlas.config import get_settings
from faceatlas.errors import ErasurePendingError
from faceatlas.gallery.hooks import before_erase
from faceatlas.gallery.index import sidecar_path
from faceatlas.gallery.results import Erasure
from faceatlas.gallery.schema import AuditEntry, Collection, Sample, Subject, Thumbnail
from faceatlas.gallery.store import compact, database_files
from faceatlas.io.files import traces_in

if TYPE_CHECKING:
    from faceatlas.gallery.gallery import Gallery


def erase(gallery: Gallery, name: str) -> Erasure:
    """Remove person `name` completely, marked pending until proven: samples, thumbnails, the subject row, their
    names in the audit log, their index entries; then `finish` with their traces."""
    with gallery.writing() as session:
        subject_id = gallery._subject(session, name).id
        rows = session.execute(select(Sample.embedding, Thumbnail.jpeg).outerjoin(Thumbnail)
                               .where(Sample.subject_id == subject_id)).all()
        before_erase(session, gallery.collection_id, [row.embedding for row in rows])
        session.execute(delete(Sample).where(Sample.subject_id == subject_id))
        session.execute(delete(Subject).where(Subject.id == subject_id))
        mark_pending(session, gallery)
        gallery._commit_removal(session, "erase", {"subject_id": subject_id, "samples": len(rows)})
    found = traces(rows)
    searched = finish(gallery, found)
    holding = sorted({path for files in exports(gallery) if traces_in(map(Path, files), found) for path in files})
    proof = f"none of its {len(found)} traces is left in the gallery's {searched} files (searched)"
    if gallery.engine.url.get_backend_name() != "sqlite":
        proof += ("; the server's tables were rewritten with no snapshot open (its write-ahead log and backups keep "
                  "old pages until the server recycles them)")
    return Erasure(name=name, samples=len(rows), index_entries=len(rows), proof=proof, exports_holding=holding)


def finish(gallery: Gallery, found: list[bytes] | None = None) -> int:
    """Compact the database, and where traces are given prove that no file of the gallery holds one; then clear the
    collection's pending mark (unless another erasure marked it meanwhile), or raise `ErasurePendingError` saying
    why the bytes are still there. Returns how many files were searched."""
    with Session(gallery.engine) as session:
        seen = _marked(session, gallery)
    done = compact(gallery.engine, get_settings().erase_wait)
    searched = files(gallery)
    left = traces_in(searched, found) if done and found else 0
    if not done or left:
        what = f"{left} of its {len(found)} traces are" if left else "its bytes may be"
        raise ErasurePendingError(f"erased from the records, but {what} still in the database's files: another "
                                  "connection holds an open read snapshot or transaction. Run `faceatlas gallery "
                                  "check` once it has closed to finish the erasure")
    with Session(gallery.engine) as session:
        session.execute(update(Collection).where(Collection.id == gallery.collection_id,
                                                 Collection.erasure_pending == seen, Collection.erasure_pending > 0)
                        .values(erasure_pending=-seen))
        session.commit()
    return len(searched)


def pending(gallery: Gallery) -> bool:
    """Whether an erasure of this collection is not yet proven complete."""
    with Session(gallery.engine) as session:
        return _marked(session, gallery) > 0


def _marked(session: Session, gallery: Gallery) -> int:
    return int(session.scalar(select(Collection.erasure_pending).where(Collection.id == gallery.collection_id))
               or 0)


def files(gallery: Gallery) -> list[Path]:
    """The files this gallery keeps faces in: the database's own (a server's are its own) and the collection's saved
    index with its record (Milvus keeps its own)."""
    index = [path for kind in ("pq", "hnsw") for path in (gallery.vectors.path(kind),
                                                          sidecar_path(gallery.vectors.path(kind)))]
    return [*database_files(gallery.engine), *(path for path in index if path.exists())]


def exports(gallery: Gallery) -> list[list[str]]:
    """The files of each export of this collection that still exist (exports are the user's backups: an erasure
    names those that still hold the person, and leaves them to the user)."""
    with Session(gallery.engine) as session:
        details = session.scalars(select(AuditEntry.detail).where(AuditEntry.collection_id == gallery.collection_id,
                                                                  AuditEntry.action == "export")).all()
    return [[path for path in detail.get("files", []) if Path(path).exists()] for detail in details]


def traces(rows: Sequence) -> list[bytes]:
    """What an erasure must leave nowhere, from rows of (embedding, thumbnail JPEG or None): each embedding's bytes,
    and 64-byte pieces from inside each thumbnail (a JPEG spans database pages; its header is shared with others)."""
    found = []
    for embedding, jpeg in rows:
        found.append(bytes(embedding))
        if jpeg:
            found += [bytes(jpeg[i:i + 64]) for i in range(len(jpeg) // 4, len(jpeg) - 64, 512)]
    return found


def mark_pending(session: Session, gallery: Gallery) -> None:
    """Mark an erasure pending, in the transaction that deletes. The mark is a counter that only grows (positive:
    pending; negative: proven as of that count), so a `finish` that began before this erasure never clears it."""
    session.execute(update(Collection).where(Collection.id == gallery.collection_id)
                    .values(erasure_pending=func.abs(func.coalesce(Collection.erasure_pending, 0)) + 1))
