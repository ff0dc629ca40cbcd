"""The library's tables, in the gallery's database (same SQLAlchemy metadata): files keyed by content, the paths
where each was last seen, the faces found in each, the clusters the faces fall into (a named cluster is a gallery
person), and the people the user said a cluster is not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from faceatlas.gallery.schema import Base, _now


class LibraryFile(Base):
    """One photo's or video's content (SHA-256), analysed once however many paths or renames it has."""

    __tablename__ = "library_files"
    __table_args__ = (UniqueConstraint("collection_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # why it could not be analysed
    warning: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # why only part of it was (a video)
    faces: Mapped[int] = mapped_column(Integer, default=0)
    indexed: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class LibraryPath(Base):
    """Where a file was seen, with the size and modification time that let a re-run skip it without hashing."""

    __tablename__ = "library_paths"
    __table_args__ = (UniqueConstraint("collection_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(4000))
    file_id: Mapped[int] = mapped_column(ForeignKey("library_files.id", ondelete="CASCADE"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)


class LibraryCluster(Base):
    """One person as far as clustering can tell; named, it is that gallery person (one cluster per person)."""

    __tablename__ = "library_clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    # erasing the person from the gallery erases the cluster and, through it, every face of theirs in the library
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), nullable=True,
                                                   unique=True)


class LibraryNumbering(Base):
    """The highest cluster number a collection's library has handed out: a forgotten or merged cluster's number is
    never given to a new cluster, so a number a user noted down never comes to mean someone else."""

    __tablename__ = "library_numbering"

    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    last_cluster: Mapped[int] = mapped_column(Integer)


class LibraryNotPerson(Base):
    """A review answered "no": the faces of this cluster are not this person (a cannot-link)."""

    __tablename__ = "library_not_person"

    cluster_id: Mapped[int] = mapped_column(ForeignKey("library_clusters.id", ondelete="CASCADE"), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True)


class LibraryFace(Base):
    """One face of one file (of one frame, in a video): where it is, how recognisable, its embedding, its
    cluster."""

    __tablename__ = "library_faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("library_files.id", ondelete="CASCADE"), index=True)
    frame_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a video's face: its frame's time
    box: Mapped[list] = mapped_column(JSON)
    detection_score: Mapped[float] = mapped_column(Float)
    quality: Mapped[float | None] = mapped_column(Float, nullable=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised, the collection's model
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # JPEG, only when asked to keep them
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("library_clusters.id", ondelete="CASCADE"),
                                                   nullable=True, index=True)
