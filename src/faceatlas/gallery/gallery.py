"""`Gallery`: enrol people, identify and verify faces against them at calibrated operating points, erase them.

The database (SQLite by default, any SQLAlchemy URL) is the truth; the vector index is derived from it and saved
beside it now and then. Whatever was added since (by this process, another one, or before a crash) is added again
from the database; after a removal the index is rebuilt. Writes to a collection are serialised by a lock file;
readers never block.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from faceatlas.config import get_settings
from faceatlas.detect.base import iou_matrix
from faceatlas.errors import FaceAtlasError, NoFaceError
from faceatlas.gallery import decisions
from faceatlas.gallery.index import ExactIndex, HnswIndex, PqIndex, VectorIndex, read_sidecar
from faceatlas.gallery.schema import AuditEntry, Collection, Sample, Subject, Thumbnail, new_key
from faceatlas.gallery.sources import fragment_image
from faceatlas.gallery.store import compact, data_dir, open_engine
from faceatlas.io.draw import face_thumbnail
from faceatlas.io.image import ImageSource, load_image
from faceatlas.pipeline import FaceAnalyzer, calibrated_threshold
from faceatlas.types import Faces

if TYPE_CHECKING:
    from faceatlas.gallery.milvus_index import MilvusIndex

DUPLICATE_MARGIN = 0.03
"""A new sample is the same photo again (refused) when its distance (1 - similarity) to one of the same person's
samples is under this fraction of the distance at the FMR 1e-5 threshold — scaled by the model, whose similarity
ranges differ (SFace: similarity >= 0.984; re-encoded, resized, re-exposed or mirrored copies of one photo score
0.984-0.991, a rotated or shifted copy 0.97-0.98 and two different photos of one person rarely exceed 0.9)."""

EXACT_UP_TO = 50_000
"""With `index="auto"`, collections up to this many samples are searched exactly (0.26 ms at 10k faces), larger ones
with the compressed scan `PqIndex` (2.7 ms at 1M, the exact top-1 for 99.8 % of probes;
`benchmarks/gallery_search.py`)."""

INDEX_KINDS = ("auto", "exact", "pq", "hnsw", "milvus")
_FILE_INDEXES: dict[str, type[PqIndex] | type[HnswIndex]] = {"pq": PqIndex, "hnsw": HnswIndex}

SAME_BOX_IOU = 0.5
"""A face found again (another model's detector, `migrate`) is the sample's face when its box overlaps the stored
box this much (intersection over union)."""

IDENTITY_CLASH_FMR = 1e-5
"""Enrolling a face that matches another person at this false-match rate is refused unless allowed."""


class GalleryError(FaceAtlasError):
    """A gallery operation that cannot be done as asked (unknown person, wrong model, ...)."""

    exit_code = 7


@dataclass
class EnrollReport:
    subject: str
    added: list[int] = field(default_factory=list)  # sample ids
    rejected: list[dict] = field(default_factory=list)  # {"source", "reason"}


@dataclass
class Candidate:
    name: str
    score: float


@dataclass
class Identification:
    """One face of a probe image: the best people, and the decision at the calibrated threshold."""

    box: list[float]
    candidates: list[Candidate]
    decision: str | None  # a name, or None: "unknown"
    threshold: float
    fmr: float
    quality: float | None = None
    insufficient_quality: bool = False

    def to_dict(self) -> dict:
        return {"box": self.box, "decision": self.decision if self.decision else "unknown",
                "candidates": [{"name": c.name, "score": round(c.score, 4)} for c in self.candidates],
                "threshold": round(self.threshold, 6), "fmr": self.fmr, "quality": self.quality,
                "insufficient_quality": self.insufficient_quality}


class Gallery:
    """People and their face samples in one collection of a database.

    >>> g = Gallery()                                   # SQLite under FACEATLAS_HOME/gallery, collection "default"
    >>> g.enroll("alice", ["a1.jpg", "a2.jpg"])         # quality-gated; EnrollReport(added, rejected)
    >>> g.identify("crowd.jpg", fpir=1e-2)              # per face: candidates, decision or None ("unknown")
    >>> g.erase("alice")                                # rows, vectors and index entries gone; files compacted
    """

    def __init__(self, url: str | None = None, collection: str = "default", analyzer: FaceAnalyzer | None = None,
                 index: str | None = None, min_quality: float = 0.3, template: decisions.Template = "max",
                 index_dir: Path | None = None, milvus_uri: str | None = None,
                 keep_thumbnails: bool = False, create: bool = True) -> None:
        index = index or get_settings().gallery_index
        if index not in INDEX_KINDS:
            raise ValueError(f"unknown index '{index}' ({', '.join(INDEX_KINDS)})")
        self.analyzer = analyzer or FaceAnalyzer()
        self.engine = open_engine(url, create)
        self.index_dir = Path(index_dir) if index_dir else data_dir(self.engine)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.collection_name = collection
        self.index_kind = index
        self.milvus_uri = milvus_uri or get_settings().milvus_uri or str(self.index_dir / "milvus.db")
        self.keep_thumbnails = keep_thumbnails
        self._milvus: MilvusIndex | None = None
        self.min_quality = min_quality
        self.template = template
        self._index: VectorIndex | None = None
        self._index_generation = -1
        self._index_kind = ""
        self._index_max_id = 0  # the largest sample id in the index
        self._saved_count = 0  # samples in the index when it was last saved
        self._counted = (-1, 0, 0)  # generation, people, samples: COUNT(*) is linear in SQLite, so once per change
        self._collection_id, self._collection_key = self._open_collection()
        self._quality_head = None

    # ---- collection, index, locking ----------------------------------------------------------------------------

    def _open_collection(self) -> tuple[int, str]:
        model = self.analyzer.recogniser_card.id
        with Session(self.engine) as session:
            found = session.scalar(select(Collection).where(Collection.name == self.collection_name))
            if found is None:
                found = Collection(name=self.collection_name, model_id=model)
                session.add(found)
                session.commit()
            if found.model_id != model:
                raise GalleryError(
                    f"collection '{self.collection_name}' holds embeddings of model '{found.model_id}', not "
                    f"'{model}': open it with a profile using that recogniser, or use another collection")
            if found.key is None:  # made before collections had keys
                found.key = new_key()
                session.commit()
            return found.id, found.key

    @property
    def collection_id(self) -> int:
        return self._collection_id

    def index_path(self, kind: str) -> Path:
        """Where an index of this kind is saved (the exact index is not saved; Milvus keeps its own files)."""
        suffix = {"pq": "faiss", "hnsw": "usearch"}.get(kind, kind)
        return self.index_dir / f"{self.collection_name}.{self.analyzer.recogniser_card.id}.{suffix}"

    def _generation(self, session: Session) -> int:
        return int(session.scalar(select(Collection.generation).where(Collection.id == self._collection_id)))

    def _removed_at(self, session: Session) -> int:
        """The generation of the last change that removed samples (an index older than that must be rebuilt)."""
        return int(session.scalar(select(Collection.removed_at).where(Collection.id == self._collection_id)) or 0)

    def _kind(self, session: Session) -> str:
        if self.index_kind == "auto":
            return "pq" if self._counts(session)[1] > EXACT_UP_TO else "exact"
        return self.index_kind

    def _current_index(self, session: Session) -> VectorIndex:
        """The index reflecting the database now. Samples only ever get larger ids, and every removal rebuilds the
        index, so an index (the one in memory, else the saved one) made since the last removal is brought up to date
        by adding the samples after its largest id; anything else, or a count that still disagrees, is rebuilt."""
        generation, kind = self._generation(session), self._kind(session)
        if self._index is not None and self._index_kind == kind and self._index_generation == generation:
            return self._index
        removed_at = self._removed_at(session)
        if self._index is None or self._index_kind != kind or self._index_generation < removed_at:
            self._index, self._index_kind = self._saved_index(kind, removed_at), kind
        if self._index is not None:
            self._add_rows(session, self._index, Sample.id > self._index_max_id)
        if self._index is None or len(self._index) != self._counts(session)[1]:
            self._rebuild(session, kind)
        self._index_generation = generation
        return self._index

    def _saved_index(self, kind: str, removed_at: int) -> VectorIndex | None:
        """The saved index of this kind if it was saved since the last removal (its largest id and size then kept
        in `_index_max_id` and `_saved_count`), else None."""
        if kind == "milvus":
            index: VectorIndex | None = self._milvus_index()
            state = index.state
        elif kind in _FILE_INDEXES and self.index_path(kind).exists():
            state = read_sidecar(self.index_path(kind))
            try:
                index = _FILE_INDEXES[kind].load(self.index_path(kind), self._ndim()) if state else None
            except (RuntimeError, ValueError, OSError):
                index = None  # unreadable (a bad disk, a foreign file): rebuilt
        else:
            return None
        if index is None or not state or state["generation"] < removed_at or len(index) != state["count"]:
            return None
        self._index_max_id, self._saved_count = int(state["max_id"]), int(state["count"])
        return index

    def _milvus_index(self) -> MilvusIndex:
        if self._milvus is None:
            from faceatlas.gallery.milvus_index import MilvusIndex

            self._milvus = MilvusIndex(self.milvus_uri, f"faceatlas_{self._collection_key}", self._ndim())
        return self._milvus

    def _ndim(self) -> int:
        return int(self.analyzer.recogniser_card.embedding_dim or 128)

    def _rebuild(self, session: Session, kind: str) -> None:
        """A new index of this kind from every sample in the database, saved."""
        if kind == "milvus":
            self._index = self._milvus_index()
            self._index.reset()
        else:
            self._index = {"exact": ExactIndex, **_FILE_INDEXES}[kind](self._ndim())
        self._index_kind, self._index_max_id = kind, 0
        self._add_rows(session, self._index, Sample.id > 0)
        self._save(self._generation(session))

    def _add_rows(self, session: Session, index: VectorIndex, condition: object) -> None:
        """Add the collection's samples matching `condition` to `index`, in id order, 10,000 at a time."""
        rows = session.execute(select(Sample.id, Sample.embedding).where(Sample.collection_id == self._collection_id,
                                                                         condition).order_by(Sample.id))
        while batch := rows.fetchmany(10_000):
            self._add(np.array([row[0] for row in batch]), np.stack([np.frombuffer(row[1], np.float32)
                                                                     for row in batch]), index)

    def _add(self, ids: np.ndarray, vectors: np.ndarray, index: VectorIndex | None = None) -> None:
        (index or self._index).add(ids, vectors)
        self._index_max_id = max(self._index_max_id, int(ids.max()))

    def _save(self, generation: int) -> None:
        """Persist the index with the database generation, sample count and largest id it reflects."""
        state = {"generation": generation, "count": len(self._index), "max_id": self._index_max_id}
        self._index.save(self.index_path(self._index_kind), state)
        self._saved_count = state["count"]

    def _added(self, generation: int, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Samples committed: into the index in memory; saved only once the unsaved part reaches a tenth of the
        index (at least 1,000), since other processes and restarts add the rest from the database anyway."""
        self._add(ids, vectors)
        self._index_generation = generation
        if len(self._index) - self._saved_count >= max(1_000, len(self._index) // 10):
            self._save(generation)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One writer per collection at a time (a lock file beside the index); the session commits on success."""
        lock_path = self.index_dir / f"{self.collection_name}.{self.analyzer.recogniser_card.id}.lock"
        with open(lock_path, "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                with Session(self.engine) as session:
                    self._current_index(session)  # catch up with other writers before changing anything
                    yield session
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _commit(self, session: Session, action: str, detail: dict) -> int:
        """Bump the generation, audit, commit; returns the new generation."""
        session.execute(update(Collection).where(Collection.id == self._collection_id)
                        .values(generation=Collection.generation + 1))
        session.add(AuditEntry(collection_id=self._collection_id, action=action, detail=detail))
        session.commit()
        return self._generation(session)

    # ---- enrolment ---------------------------------------------------------------------------------------------

    def enroll(self, name: str, images: Iterable[ImageSource], meta: dict | None = None,
               allow_identity_clash: bool = False, sources: Sequence[str] | None = None,
               boxes: Sequence[list | None] | None = None) -> EnrollReport:
        """Add the largest face of each image (or, where `boxes` gives one, the face at that box) to person `name`
        (created if new). Faces below `min_quality`, exact duplicates and faces that match another enrolled person
        (at FMR 1e-5) are refused with a reason. Each sample records where it came from: `sources`, else the
        image's path (or "<array>")."""
        report = EnrollReport(subject=name)
        accepted: list[tuple[str, Faces, float, bytes | None]] = []
        for number, image in enumerate(images):
            source = sources[number] if sources else str(image) if isinstance(image, str | Path) else "<array>"
            try:
                bgr, faces = self._single_face(image, boxes[number] if boxes else None)
                quality = self._quality(bgr, faces)
            except FaceAtlasError as error:
                report.rejected.append({"source": source, "reason": f"{type(error).__name__}: {error}"})
                continue
            if quality < self.min_quality:
                report.rejected.append({"source": source,
                                        "reason": f"quality {quality:.2f} below the gate {self.min_quality:.2f}"})
                continue
            accepted.append((source, faces, quality, self._thumbnail(bgr, faces.boxes[0])))
        if not accepted:
            return report
        clash_threshold = calibrated_threshold(self.analyzer.recogniser_card, IDENTITY_CLASH_FMR)
        duplicate = 1.0 - DUPLICATE_MARGIN * (1.0 - clash_threshold)
        with self.writing() as session:
            index = self._current_index(session)
            subject = self.subject_named(session, name, meta)
            new: list[Sample] = []
            for source, faces, quality, thumbnail in accepted:
                vector = faces.embeddings[0]
                reason = self._clash(session, index, subject.id, vector, new, clash_threshold, duplicate,
                                     allow_identity_clash)
                if reason:
                    report.rejected.append({"source": source, "reason": reason})
                    continue
                sample = Sample(subject_id=subject.id, collection_id=self._collection_id,
                                model_id=self.analyzer.recogniser_card.id, embedding=vector.tobytes(),
                                quality=quality, box=[round(float(v), 2) for v in faces.boxes[0]], source=source,
                                thumbnail=Thumbnail(jpeg=thumbnail) if thumbnail else None)
                session.add(sample)
                new.append(sample)
            if not new:
                session.rollback()
                return report
            session.flush()
            generation = self._commit(session, "enroll", {"subject_id": subject.id, "samples": len(new)})
            self._added(generation, np.array([s.id for s in new]),
                        np.stack([np.frombuffer(s.embedding, np.float32) for s in new]))
            report.added = [s.id for s in new]
        return report

    def subject_named(self, session: Session, name: str, meta: dict | None = None) -> Subject:
        """The person `name` of this collection, created (with an id) if new; `meta` is merged into theirs."""
        subject = session.scalar(select(Subject).where(Subject.collection_id == self._collection_id,
                                                       Subject.name == name))
        if subject is None:
            subject = Subject(collection_id=self._collection_id, name=name, meta=meta or {})
            session.add(subject)
            session.flush()
        elif meta:
            subject.meta = {**subject.meta, **meta}
        return subject

    def add_faces(self, name: str, embeddings: np.ndarray, qualities: Sequence[float | None],
                  boxes: Sequence[list], sources: Sequence[str],
                  thumbnails: Sequence[bytes | None] | None = None) -> list[int]:
        """Add faces already found and embedded by this collection's model (a photo library's) to person `name`
        (created if new), with the thumbnails kept of them, without the enrolment checks: the caller vouches for who
        they are. Returns sample ids."""
        thumbnails = [None] * len(sources) if thumbnails is None else thumbnails
        with self.writing() as session:
            subject = self.subject_named(session, name)
            new = [Sample(subject_id=subject.id, collection_id=self._collection_id,
                          model_id=self.analyzer.recogniser_card.id,
                          embedding=np.asarray(vector, np.float32).tobytes(), quality=quality, box=box, source=source,
                          thumbnail=Thumbnail(jpeg=jpeg) if jpeg else None)
                   for vector, quality, box, source, jpeg in zip(embeddings, qualities, boxes, sources, thumbnails,
                                                                 strict=True)]
            session.add_all(new)
            session.flush()
            generation = self._commit(session, "enroll", {"subject_id": subject.id, "samples": len(new)})
            if new:
                self._added(generation, np.array([s.id for s in new]), np.asarray(embeddings, np.float32))
            return [s.id for s in new]

    def _single_face(self, image: ImageSource, box: list | None = None) -> tuple[np.ndarray, Faces]:
        """The decoded pixels and the one face of a photo of one person, embedded; ambiguous photos are refused.
        With `box`, the face found there instead (none there is refused)."""
        decoded = load_image(image)
        faces = self.analyzer.detect(decoded.bgr)
        if len(faces) == 0:
            raise NoFaceError("no face found")
        if box is not None:
            overlap = iou_matrix(faces.boxes, np.asarray([box], np.float32))[:, 0]
            if overlap.max() < SAME_BOX_IOU:
                raise NoFaceError(f"no face at the sample's box (best overlap {overlap.max():.2f})")
            return decoded.bgr, self.analyzer.embed(decoded.bgr, faces[int(np.argmax(overlap))])
        order = np.argsort(-faces.areas)
        if len(faces) > 1 and faces.areas[order[1]] > 0.5 * faces.areas[order[0]]:
            raise GalleryError(f"{len(faces)} faces of similar size: enrol from a photo of this person alone")
        return decoded.bgr, self.analyzer.embed(decoded.bgr, faces[int(order[0])])

    def _thumbnail(self, bgr: np.ndarray, box: np.ndarray) -> bytes | None:
        return face_thumbnail(bgr, box) if self.keep_thumbnails else None

    def _quality(self, bgr: np.ndarray, face: Faces) -> float:
        if self._quality_head is None:
            from faceatlas.quality.head import QualityHead

            self._quality_head = QualityHead(self.analyzer.threads)
        return float(self._quality_head.predict(bgr, face)["quality"][0])

    def _clash(self, session: Session, index: VectorIndex, subject_id: int, vector: np.ndarray, new: list[Sample],
               threshold: float, duplicate: float, allow: bool) -> str | None:
        for sample in new:  # duplicates inside this same call
            if float(np.frombuffer(sample.embedding, np.float32) @ vector) >= duplicate:
                return "the same face twice in this enrolment"
        ids, scores = index.search(vector[None], 5)
        found = [int(i) for i in ids[0] if i >= 0]
        owners = {row[0]: row[1] for row in
                  session.execute(select(Sample.id, Sample.subject_id).where(Sample.id.in_(found)))}
        for sample_id, score in zip(found, scores[0], strict=False):
            owner = owners.get(sample_id)
            if owner == subject_id and score >= duplicate:
                return f"already enrolled (sample {sample_id}, similarity {score:.3f})"
            if owner is not None and owner != subject_id and score >= threshold and not allow:
                other = session.scalar(select(Subject.name).where(Subject.id == owner))
                return (f"matches enrolled person '{other}' (similarity {score:.3f} >= {threshold:.3f}, the "
                        f"threshold at FMR {IDENTITY_CLASH_FMR:g}); pass allow_identity_clash to enrol anyway")
        return None

    # ---- search ------------------------------------------------------------------------------------------------

    def identify(self, image: ImageSource, fmr: float | None = None, fpir: float | None = None, top_k: int = 5,
                 min_quality: float | None = None) -> list[Identification]:
        """Every face of `image` against the gallery. Decide at a per-comparison `fmr`, or at `fpir`, the rate at
        which a stranger is taken for *someone* (default 1e-2, spread over the comparisons a search makes: see
        `decisions`); below the threshold the answer is None, "unknown"."""
        decoded = load_image(image)
        faces = self.analyzer.detect(decoded.bgr)
        if len(faces) == 0:
            return []
        faces = self.analyzer.embed(decoded.bgr, faces)
        with Session(self.engine) as session:
            chances = decisions.comparisons(self.template, *self._counts(session))
            target = decisions.per_comparison_fmr(fmr, 1e-2 if fmr is None and fpir is None else fpir, chances)
            threshold = calibrated_threshold(self.analyzer.recogniser_card, target)
            results = []
            for i in range(len(faces)):
                candidates = self._candidates(session, faces.embeddings[i], top_k)
                quality = None
                insufficient = False
                if min_quality is not None:
                    quality = self._quality(decoded.bgr, faces[i])
                    insufficient = quality < min_quality
                decided = candidates[0].name if candidates and candidates[0].score >= threshold else None
                results.append(Identification(box=[round(float(v), 2) for v in faces.boxes[i]],
                                              candidates=candidates, decision=None if insufficient else decided,
                                              threshold=threshold, fmr=target, quality=quality,
                                              insufficient_quality=insufficient))
        return results

    def _candidates(self, session: Session, vector: np.ndarray, top_k: int) -> list[Candidate]:
        """Nearest samples from the index, their people, then every sample of those people scored exactly and
        combined by the template."""
        index = self._current_index(session)
        ids, _ = index.search(vector[None], max(4 * top_k, 20))
        found = [int(i) for i in ids[0] if i >= 0]
        if not found:
            return []
        subject_ids = session.scalars(select(Sample.subject_id).where(Sample.id.in_(found))).all()
        rows = session.execute(select(Sample.subject_id, Sample.embedding, Sample.quality)
                               .where(Sample.subject_id.in_(set(subject_ids)))).all()
        subjects = np.array([r[0] for r in rows])
        scores = np.stack([np.frombuffer(r[1], np.float32) for r in rows]) @ vector
        qualities = np.array([np.nan if r[2] is None else r[2] for r in rows], np.float64)
        per_person = decisions.person_scores(subjects, scores, qualities, self.template)
        best = sorted(per_person.items(), key=lambda item: -item[1])[:top_k]
        names = {row[0]: row[1] for row in session.execute(select(Subject.id, Subject.name)
                                                           .where(Subject.id.in_([b[0] for b in best])))}
        return [Candidate(names[s], score) for s, score in best]

    def verify(self, image: ImageSource, name: str, fmr: float = 1e-4) -> dict:
        """Is the face in `image` person `name`, decided at false-match rate `fmr` (the largest face; a photo with
        several faces of similar size is refused, as for enrolment)."""
        _, face = self._single_face(image)
        with Session(self.engine) as session:
            subject = self._subject(session, name)
            rows = session.execute(select(Sample.embedding, Sample.quality).where(Sample.subject_id == subject.id))
            rows = rows.all()
            scores = np.stack([np.frombuffer(r[0], np.float32) for r in rows]) @ face.embeddings[0]
            qualities = np.array([np.nan if r[1] is None else r[1] for r in rows])
            score = decisions.person_scores(np.zeros(len(rows), int), scores, qualities, self.template)[0]
        threshold = calibrated_threshold(self.analyzer.recogniser_card, fmr)
        return {"name": name, "score": score, "same": score >= threshold, "threshold": threshold, "fmr": fmr,
                "samples": len(rows)}

    # ---- people ------------------------------------------------------------------------------------------------

    def _subject(self, session: Session, name: str) -> Subject:
        subject = session.scalar(select(Subject).where(Subject.collection_id == self._collection_id,
                                                       Subject.name == name))
        if subject is None:
            raise GalleryError(f"no person named '{name}' in collection '{self.collection_name}'")
        return subject

    def _counts(self, session: Session) -> tuple[int, int]:
        """People and samples in the collection, counted again only after a change (a new generation)."""
        generation = self._generation(session)
        if self._counted[0] != generation:
            people = session.scalar(select(func.count(Subject.id)).where(Subject.collection_id == self._collection_id))
            samples = session.scalar(select(func.count(Sample.id)).where(Sample.collection_id == self._collection_id))
            self._counted = (generation, int(people), int(samples))
        return self._counted[1], self._counted[2]

    def __len__(self) -> int:
        """The number of people enrolled."""
        with Session(self.engine) as session:
            return self._counts(session)[0]

    def people(self) -> list[dict]:
        """Every person: name, number of samples, metadata."""
        with Session(self.engine) as session:
            rows = session.execute(select(Subject.name, func.count(Sample.id), Subject.meta)
                                   .outerjoin(Sample, Sample.subject_id == Subject.id)
                                   .where(Subject.collection_id == self._collection_id)
                                   .group_by(Subject.id).order_by(Subject.name)).all()
        return [{"name": n, "samples": int(c), "meta": m} for n, c, m in rows]

    def show(self, name: str) -> dict:
        with Session(self.engine) as session:
            subject = self._subject(session, name)
            return {"name": subject.name, "meta": subject.meta, "created": subject.created.isoformat(),
                    "samples": [{"id": s.id, "quality": s.quality, "box": s.box, "source": s.source,
                                 "created": s.created.isoformat(), "thumbnail": s.thumbnail is not None}
                                for s in subject.samples]}

    def rename(self, old: str, new: str) -> None:
        with self.writing() as session:
            subject = self._subject(session, old)
            if session.scalar(select(Subject.id).where(Subject.collection_id == self._collection_id,
                                                       Subject.name == new)) is not None:
                raise GalleryError(f"a person named '{new}' already exists; merge instead")
            subject.name = new
            self._index_generation = self._commit(session, "rename", {"subject_id": subject.id})

    def merge(self, source: str, target: str) -> int:
        """Move every sample of `source` to `target` and delete `source`; returns the samples moved."""
        with self.writing() as session:
            moving, keeping = self._subject(session, source), self._subject(session, target)
            moved = session.execute(update(Sample).where(Sample.subject_id == moving.id)
                                    .values(subject_id=keeping.id)).rowcount
            from faceatlas.organize.labelling import merge_person_clusters  # the library builds on the gallery

            merge_person_clusters(session, self._collection_id, moving.id, keeping.id)
            session.delete(moving)
            self._index_generation = self._commit(session, "merge", {"subject_id": moving.id, "into": keeping.id,
                                                                     "samples": moved})
        return int(moved)

    def remove_samples(self, name: str, sample_ids: Iterable[int]) -> int:
        """Remove these samples of person `name` (faces that turned out not to be them); the index is rebuilt without
        them. Returns how many were removed."""
        with self.writing() as session:
            subject = self._subject(session, name)
            removed = session.execute(delete(Sample).where(Sample.subject_id == subject.id,
                                                           Sample.id.in_([int(i) for i in sample_ids]))).rowcount
            if removed:
                self._commit_removal(session, "remove_samples", {"subject_id": subject.id, "samples": removed})
        return int(removed)

    def erase(self, name: str) -> dict:
        """Remove a person completely: samples, subject row, their names in the audit log, their index entries
        (the index is rebuilt without them, so no quantised copy survives) and the free pages of the database."""
        with self.writing() as session:
            subject = self._subject(session, name)
            subject_id = subject.id
            sample_ids = list(session.scalars(select(Sample.id).where(Sample.subject_id == subject_id)))
            session.execute(delete(Sample).where(Sample.subject_id == subject_id))
            session.execute(delete(Subject).where(Subject.id == subject_id))
            self._commit_removal(session, "erase", {"subject_id": subject_id, "samples": len(sample_ids)})
        compact(self.engine)
        return {"name": name, "samples": len(sample_ids), "index_entries": len(sample_ids)}

    def _commit_removal(self, session: Session, action: str, detail: dict) -> None:
        """Commit a removal of samples: marked as the generation it makes (every process's index built before it is
        stale), and this process's index rebuilt without them."""
        session.execute(update(Collection).where(Collection.id == self._collection_id)
                        .values(removed_at=Collection.generation + 1))  # the generation _commit makes
        self._commit(session, action, detail)
        self._rebuild(session, self._kind(session))

    # ---- maintenance -------------------------------------------------------------------------------------------

    def migrate(self, target: Gallery) -> dict:
        """Re-embed every person into `target` (another collection, usually pinned to another model) from the
        source photos their samples were enrolled from (for a photo library's samples, the face at the sample's box
        in its photo or video frame; see `sources`), or, where a photo is gone, from the sample's kept thumbnail;
        samples with neither are listed, not guessed."""
        with Session(self.engine) as session:
            people = [(s.name, s.meta, [(sample.source, sample.box, sample.thumbnail.jpeg if sample.thumbnail
                                         else None) for sample in s.samples])
                      for s in session.scalars(select(Subject).where(Subject.collection_id == self._collection_id)
                                               .order_by(Subject.name))]
        moved, missing, refused = 0, [], []
        for name, meta, samples in people:
            usable = []  # (source, image, box to find the face at)
            for source, box, thumbnail in samples:
                if Path(source).is_file():
                    usable.append((source, source, None))
                elif len(box or ()) == 4 and (frame := fragment_image(source)) is not None:
                    usable.append((source, frame, box))  # a photo library's face: the one at its box
                elif thumbnail is not None:
                    usable.append((source, thumbnail, None))
                else:
                    missing.append(f"{name}: {source}")
            if usable:
                report = target.enroll(name, [image for _, image, _ in usable], meta=meta, allow_identity_clash=True,
                                       sources=[source for source, _, _ in usable], boxes=[b for _, _, b in usable])
                moved += len(report.added)
                refused += [f"{name}: {r['source']}: {r['reason']}" for r in report.rejected]
        return {"people": len(people), "samples_migrated": moved, "sources_missing": missing, "refused": refused}

    def close(self) -> None:
        """Release the database connections and, with a Milvus index, its connection (and milvus-lite's lock)."""
        if self._milvus is not None:
            self._milvus.close()
            self._milvus = None
            self._index = None
        self.engine.dispose()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rebuild_index(self) -> int:
        """Recreate the vector index from the database; returns its size."""
        with self.writing() as session:
            self._rebuild(session, self._kind(session))
            return len(self._index)

    def check(self) -> dict:
        """Does the index agree with the database: same size, and each sample (up to 1,000) finds itself among its
        10 nearest (not necessarily first: copies of one photo enrolled as different people tie)."""
        with Session(self.engine) as session:
            index = self._current_index(session)
            rows = session.execute(select(Sample.id, Sample.embedding).where(Sample.collection_id ==
                                                                            self._collection_id)
                                   .order_by(Sample.id).limit(1000)).all()
            stored = self._counts(session)[1]
        found = 0
        if rows:
            ids, _ = index.search(np.stack([np.frombuffer(r[1], np.float32) for r in rows]), 10)
            found = int(np.sum(ids == np.array([r[0] for r in rows])[:, None]))
        return {"samples": stored, "index_entries": len(index), "self_recall_at_10": found / len(rows) if rows else 1.0,
                "ok": stored == len(index) and (not rows or found == len(rows))}

