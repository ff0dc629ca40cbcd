"""The gallery's tables (SQLAlchemy): the database is the truth; vector indexes are derived from it.

collections (isolated namespaces, each pinned to one embedding model) -> subjects (a person: name, metadata) ->
samples (one embedding of one face, its quality, box and source reference) -> a thumbnail of the face, only if
asked (a table of its own: sample rows stay small and fast to scan). `audit` records every change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def _now() -> datetime:
    return datetime.now(UTC)


def new_key() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    model_id: Mapped[str] = mapped_column(String(200))  # the embedding model every sample must come from
    model_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # and the file it ran
    generation: Mapped[int] = mapped_column(Integer, default=0)  # bumped by every change; indexes record theirs
    removed_at: Mapped[int | None] = mapped_column(Integer, nullable=True, default=0)  # last removal's generation
    # 1 while an erasure's bytes may still be in the database's files (a reader held an old snapshot)
    erasure_pending: Mapped[int | None] = mapped_column(Integer, nullable=True, default=0)
    # unique across databases: names the collection's index in a shared vector engine (Milvus)
    key: Mapped[str | None] = mapped_column(String(32), nullable=True, default=new_key)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    subjects: Mapped[list[Subject]] = relationship(back_populates="collection", cascade="all, delete-orphan")


class Subject(Base):
    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("collection_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    collection: Mapped[Collection] = relationship(back_populates="subjects")
    samples: Mapped[list[Sample]] = relationship(back_populates="subject", cascade="all, delete-orphan")


class Sample(Base):
    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[str] = mapped_column(String(200))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    quality: Mapped[float | None] = mapped_column(Float, nullable=True)
    box: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(2000), default="")  # a reference (path, name), never the image
    thumbnail: Mapped[Thumbnail | None] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    subject: Mapped[Subject] = relationship(back_populates="samples")


class Thumbnail(Base):
    __tablename__ = "thumbnails"

    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # names and counts, never embeddings
