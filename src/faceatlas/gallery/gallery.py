"""`Gallery`: enrol people, identify and verify faces against them at calibrated operating points, erase them.

The database (SQLite by default, any SQLAlchemy URL) is the truth; the vector index is derived from it
(`CollectionIndex`). Writes to a collection are serialised by a lock file; readers never block. Faces come from the
pipeline (`FaceAnalyzer.shots`), and every sample enters the database through `_store`, the one place vectors are
checked before they are written.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from faceatlas.config import get_settings
from faceatlas.errors import ErasurePendingError, GalleryError
from faceatlas.gallery import decisions, edits, erasure
from faceatlas.gallery.collections import open_collection
from faceatlas.gallery.enrolment import EnrolmentChecks
from faceatlas.gallery.indexing import INDEX_KINDS, CollectionIndex
from faceatlas.gallery.results import (
    Candidate,
    EnrollReport,
    Erasure,
    Identification,
    IndexCheck,
    MigrationReport,
    PersonRecord,
    PersonSummary,
    Refusal,
    SampleRecord,
)
from faceatlas.gallery.samples import NewSample, checked_name, sample_problem
from faceatlas.gallery.schema import AuditEntry, Collection, Sample, Subject, Thumbnail
from faceatlas.gallery.store import data_dir, open_engine, read_snapshot, store_errors
from faceatlas.io.draw import face_thumbnail
from faceatlas.io.files import PRIVATE_FILE, private_folder, remove_leftovers
from faceatlas.io.image import ImageSource, shown
from faceatlas.io.sources import is_single
from faceatlas.models.store import file_sha256
from faceatlas.pipeline import FaceAnalyzer, calibrated_threshold
from faceatlas.results import below
from faceatlas.types import Faces, Shot, SubjectRule, Verification


@store_errors
class Gallery:
    """People and their face samples in one collection of a database.

    >>> g = Gallery()                                   # the settings' database and collection (default: SQLite
    ...                                                 # under FACEATLAS_HOME/gallery, collection "default")
    >>> g.enroll("alice", ["a1.jpg", "a2.jpg"])         # quality-gated; EnrollReport(added, rejected)
    >>> g.identify("crowd.jpg", fpir=1e-2)              # per face: candidates, decision or None ("unknown")
    >>> g.erase("alice")                                # rows, vectors and index entries gone; files compacted
    """

    def __init__(self, url: str | None = None, collection: str | None = None, analyzer: FaceAnalyzer | None = None,
                 index: str | None = None, min_quality: float | None = None, template: decisions.Template = "max",
                 index_dir: Path | None = None, milvus_uri: str | None = None,
                 keep_thumbnails: bool = False, create: bool = True) -> None:
        settings = get_settings()
        index = index or settings.gallery_index
        if index not in INDEX_KINDS:
            raise ValueError(f"unknown index '{index}' ({', '.join(INDEX_KINDS)})")
        if template not in decisions.TEMPLATES:
            raise ValueError(f"unknown template '{template}' ({', '.join(decisions.TEMPLATES)})")
        self.analyzer = (analyzer or FaceAnalyzer()).with_heads("quality")
        self.engine = open_engine(url or settings.gallery_url, create)
        self.index_dir = private_folder(Path(index_dir)) if index_dir else data_dir(self.engine)
        self.collection_name = collection or settings.collection
        if not isinstance(self.collection_name, str) or not 0 < len(self.collection_name) <= 200:
            raise GalleryError(f"a collection name is 1 to 200 characters, not {self.collection_name!r}")
        self.keep_thumbnails = keep_thumbnails
        self.min_quality = settings.min_quality if min_quality is None else min_quality
        self.template = template
        self.model_sha256 = file_sha256(self.analyzer.recogniser_card)  # of the file it runs, pinned or not
        self._collection_id, self.collection_key = open_collection(
            self.engine, self.collection_name, self.model_id, self.model_sha256, create)
        self.vectors = CollectionIndex(
            # files are named by the collection's key and the model id (a card's id, a checked name), never by the
            # collection's name: no path is built from a user's string
            self.engine, self._collection_id, self.collection_key, f"{self.collection_key}.{self.model_id}",
            self.index_dir, index, self.ndim,
            milvus_uri or settings.milvus_uri or str(self.index_dir / "milvus.db"))

    @property
    def collection_id(self) -> int:
        return self._collection_id

    @property
    def model_id(self) -> str:
        """The embedding model every sample of the collection comes from."""
        return self.analyzer.recogniser_card.id

    @property
    def ndim(self) -> int:
        return int(self.analyzer.recogniser_card.embedding_dim or 128)

    @contextmanager
    def writing(self, catch_up: bool = True) -> Iterator[Session]:
        """One writer per collection at a time (a lock file beside the index); the session commits on success.
        With `catch_up`, the index is first brought up to date with other writers' changes."""
        lock = os.open(self.vectors.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            remove_leftovers(self.index_dir, [self.vectors.path(kind).name for kind in ("pq", "hnsw")])
            self.vectors.writer = True
            with Session(self.engine) as session:
                if catch_up:
                    self.vectors.current(session)
                yield session
        finally:
            self.vectors.writer = False
            os.close(lock)  # releases the lock

    def _commit(self, session: Session, action: str, detail: dict) -> int:
        """Bump the generation, audit, commit; returns the new generation."""
        session.execute(update(Collection).where(Collection.id == self._collection_id)
                        .values(generation=Collection.generation + 1))
        session.add(AuditEntry(collection_id=self._collection_id, action=action, detail=detail))
        session.commit()
        return self.vectors.generation(session)

    def _commit_removal(self, session: Session, action: str, detail: dict) -> None:
        """Commit a removal of samples: marked as the generation it makes (every process's index built before it is
        stale), and this process's index rebuilt without them."""
        session.execute(update(Collection).where(Collection.id == self._collection_id)
                        .values(removed_at=Collection.generation + 1))  # the generation _commit makes
        self._commit(session, action, detail)
        self.vectors.rebuild(session, removal=True)

    def sample_problem(self, sample: NewSample) -> str | None:
        """Why `sample` may not be stored in this collection (None: it may; see `samples.sample_problem`)."""
        return sample_problem(sample, self.ndim, self.model_id)

    def _store(self, session: Session, subject: Subject, samples: Sequence[NewSample]) -> list[Sample]:
        """Add samples of `subject` to the session: the one place samples are checked before they are written
        (`sample_problem`), whatever door they come through (enrolment, a photo library, an import)."""
        rows = []
        for new in samples:
            problem = self.sample_problem(new)
            if problem:
                raise GalleryError(f"{str(new.source)[:200]}: {problem}; nothing stored")
            rows.append(Sample(subject_id=subject.id, collection_id=self._collection_id, model_id=self.model_id,
                               embedding=np.asarray(new.vector, np.float32).tobytes(),
                               quality=None if new.quality is None else float(new.quality),
                               box=[float(v) for v in new.box], source=new.source,
                               thumbnail=Thumbnail(jpeg=new.thumbnail) if new.thumbnail else None))
        session.add_all(rows)
        return rows

    def _committed(self, session: Session, rows: list[Sample], action: str, detail: dict) -> list[int]:
        """Commit stored samples (one transaction) and add them to the index in memory; their ids."""
        session.flush()
        generation = self._commit(session, action, {**detail, "samples": len(rows)})
        if rows:
            self.vectors.added(generation, np.array([s.id for s in rows]),
                               np.stack([np.frombuffer(s.embedding, np.float32) for s in rows]))
        return [s.id for s in rows]

    # ---- enrolment ---------------------------------------------------------------------------------------------

    def enroll(self, name: str, images: Iterable[ImageSource], meta: dict | None = None,
               allow_identity_clash: bool = False, sources: Sequence[str] | None = None,
               boxes: Sequence[list | None] | None = None, subject: SubjectRule = "alone") -> EnrollReport:
        """Add the face of each image (the face `subject` picks: by default the one face of a photo of this person
        alone, or the one plainly its subject; where `boxes` gives one, the face at that box) to person `name`
        (created if new). Faces below `min_quality`, exact duplicates and
        faces that match another enrolled person (at FMR 1e-5) are refused with a reason. Each sample records where
        it came from: `sources`, else the image's path (or "<array>")."""
        report = EnrollReport(subject=checked_name(name))
        accepted: list[NewSample] = []
        for shot in self._subject_shots([images] if is_single(images) else list(images), boxes, subject):
            source = sources[shot.index] if sources else shown(shot.source) if shot.source else "<array>"
            if shot.error is not None:
                report.rejected.append(Refusal(source, f"{type(shot.error).__name__}: {shot.error}"))
                continue
            quality = float(shot.faces.quality[0])
            if quality < self.min_quality:
                report.rejected.append(Refusal(source, f"quality {below(quality, self.min_quality)} (its predicted "
                                                       "chance of matching another photo at FMR 1e-3; lower the gate "
                                                       "with --min-quality, Python: min_quality=)"))
                continue
            box = shot.faces.boxes[0]
            accepted.append(NewSample(shot.faces.embeddings[0], quality, [round(float(v), 2) for v in box], source,
                                      face_thumbnail(shot.image, box) if self.keep_thumbnails else None))
        if not accepted:
            return report
        checks = EnrolmentChecks(self.analyzer.recogniser_card, allow_identity_clash)
        with self.writing() as session:
            index = self.vectors.current(session)
            subject = self.subject_named(session, name, meta)
            kept: list[NewSample] = []
            for new in accepted:
                reason = checks.refusal(session, index, subject.id, new.vector, [k.vector for k in kept])
                if reason:
                    report.rejected.append(Refusal(new.source, reason))
                else:
                    kept.append(new)
            if not kept:
                session.rollback()
                return report
            report.added = self._committed(session, self._store(session, subject, kept), "enroll",
                                           {"subject_id": subject.id})
        return report

    def _subject_shots(self, images: list[ImageSource], boxes: Sequence[list | None] | None, subject: SubjectRule
                       ) -> Iterator[Shot]:
        """The pipeline's shot of each image, keeping the face `subject` picks (or, with a box, the face there)."""
        if not boxes:
            yield from self.analyzer.shots(images, subject=subject, folders=False)
            return
        for number, (image, box) in enumerate(zip(images, boxes, strict=True)):
            for shot in self.analyzer.shots(image, subject=box if box is not None else subject, folders=False):
                yield replace(shot, index=number)

    def subject_named(self, session: Session, name: str, meta: dict | None = None) -> Subject:
        """The person `name` of this collection, created (with an id) if new; `meta` is merged into theirs."""
        checked_name(name)
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
            rows = self._store(session, subject, [NewSample(*row) for row in zip(
                embeddings, qualities, boxes, sources, thumbnails, strict=True)])
            return self._committed(session, rows, "enroll", {"subject_id": subject.id})

    # ---- search ------------------------------------------------------------------------------------------------

    def identify(self, image: ImageSource | Faces, fmr: float | None = None, fpir: float | None = None,
                 top_k: int = 5, min_quality: float | None = None) -> list[Identification]:
        """Every face of `image` (or the faces the pipeline found in it) against the gallery. Decide at a
        per-comparison `fmr`, or at `fpir`, the rate at which a stranger is taken for *someone* (default 1e-2,
        spread over the comparisons a search makes: see `decisions`); below the threshold the answer is None,
        "unknown"."""
        if top_k < 1:
            raise ValueError(f"top_k is the number of candidates to list, at least 1, not {top_k}")
        faces = image if isinstance(image, Faces) else self.analyzer.analyze(image)
        if len(faces) == 0:
            return []
        with Session(self.engine) as session:
            chances = decisions.comparisons(self.template, *self.vectors.counts(session))
            target = decisions.per_comparison_fmr(fmr, 1e-2 if fmr is None and fpir is None else fpir, chances)
            threshold = calibrated_threshold(self.analyzer.recogniser_card, target)
            results = []
            for i in range(len(faces)):
                candidates = self._candidates(session, faces.embeddings[i], top_k)
                quality = None if min_quality is None else float(faces.quality[i])
                insufficient = quality is not None and quality < min_quality
                decided = candidates[0].name if candidates and candidates[0].score >= threshold else None
                results.append(Identification(box=[round(float(v), 2) for v in faces.boxes[i]],
                                              candidates=candidates, decision=None if insufficient else decided,
                                              threshold=threshold, fmr=target, quality=quality,
                                              insufficient_quality=insufficient, licences=faces.licences))
        return results

    def _candidates(self, session: Session, vector: np.ndarray, top_k: int) -> list[Candidate]:
        """Nearest samples from the index, their people, then every sample of those people scored exactly and
        combined by the template."""
        ids, _ = self.vectors.current(session).search(vector[None], max(4 * top_k, 20))
        found = [int(i) for i in ids[0] if i >= 0]
        if not found:
            return []
        subject_ids = session.scalars(select(Sample.subject_id).where(Sample.id.in_(found))).all()
        rows = session.execute(select(Sample.subject_id, Sample.embedding, Sample.quality)
                               .where(Sample.subject_id.in_(set(subject_ids)))).all()
        per_person = self._person_scores(rows, vector)
        best = sorted(per_person.items(), key=lambda item: -item[1])[:top_k]
        names = dict(session.execute(select(Subject.id, Subject.name).where(Subject.id.in_([b[0] for b in best]))
                                     ).all())
        return [Candidate(names[s], score) for s, score in best]

    def _person_scores(self, rows: Sequence, vector: np.ndarray) -> dict[int, float]:
        """Rows of (subject id, embedding, quality) scored against `vector` and combined per person."""
        subjects = np.array([r[0] for r in rows])
        scores = np.stack([np.frombuffer(r[1], np.float32) for r in rows]) @ vector
        qualities = np.array([np.nan if r[2] is None else r[2] for r in rows], np.float64)
        return decisions.person_scores(subjects, scores, qualities, self.template)

    def verify(self, image: ImageSource, name: str, fmr: float = 1e-4) -> Verification:
        """Is the face in `image` person `name`, decided at false-match rate `fmr` (the one face of a photo of one
        person: a photo with several faces of similar size is refused, as for enrolment)."""
        face = self.analyzer.analyze(image, subject="alone")
        with Session(self.engine) as session:
            subject = self._subject(session, name)
            rows = session.execute(select(Sample.subject_id, Sample.embedding, Sample.quality)
                                   .where(Sample.subject_id == subject.id)).all()
            if not rows:  # every sample moved to someone else: the person stays, with nothing to compare
                raise GalleryError(f"'{name}' has no sample to verify against (enrol a photo of them)")
            score = self._person_scores(rows, face.embeddings[0])[subject.id]
        threshold = calibrated_threshold(self.analyzer.recogniser_card, fmr)
        return Verification(score=score, same=score >= threshold, threshold=threshold, fmr=fmr, model=self.model_id,
                            name=name, samples=len(rows), licences=face.licences)

    # ---- people ------------------------------------------------------------------------------------------------

    def _subject(self, session: Session, name: str) -> Subject:
        subject = session.scalar(select(Subject).where(Subject.collection_id == self._collection_id,
                                                       Subject.name == name))
        if subject is None:
            raise GalleryError(f"no person named '{name}' in collection '{self.collection_name}'")
        return subject

    def __len__(self) -> int:
        """The number of people enrolled."""
        with Session(self.engine) as session:
            return self.vectors.counts(session)[0]

    def people(self) -> list[PersonSummary]:
        """Every person: name, number of samples, metadata."""
        with Session(self.engine) as session:
            rows = session.execute(select(Subject.name, func.count(Sample.id), Subject.meta)
                                   .outerjoin(Sample, Sample.subject_id == Subject.id)
                                   .where(Subject.collection_id == self._collection_id)
                                   .group_by(Subject.id).order_by(Subject.name)).all()
        return [PersonSummary(name, int(count), meta) for name, count, meta in rows]

    def show(self, name: str) -> PersonRecord:
        """One person and their samples (never their embeddings)."""
        with Session(self.engine) as session:
            subject = self._subject(session, name)
            return PersonRecord(subject.name, subject.meta, subject.created.isoformat(), [
                SampleRecord(s.id, s.quality, s.box, s.source, s.created.isoformat(), s.thumbnail is not None)
                for s in subject.samples])

    def rename(self, old: str, new: str) -> None:
        """Person `old` is called `new` from now on (refused if someone is already called `new`: merge instead)."""
        edits.rename(self, old, new)

    def merge(self, source: str, target: str) -> int:
        """Move every sample of `source` to `target` and delete `source`; returns the samples moved (see
        `edits.merge`)."""
        return edits.merge(self, source, target)

    def remove_samples(self, name: str, sample_ids: Iterable[int]) -> int:
        """Remove these samples of person `name` (faces that turned out not to be them); returns how many."""
        return edits.remove_samples(self, name, sample_ids)

    def move_samples(self, name: str, sample_ids: Iterable[int], to: str) -> int:
        """These samples of `name` are person `to` (created if new); returns how many moved."""
        return edits.move_samples(self, name, sample_ids, to)

    def thumbnail(self, sample_id: int) -> bytes | None:
        """The JPEG kept of a sample of this collection (`keep_thumbnails`), or None."""
        with Session(self.engine) as session:
            return session.scalar(select(Thumbnail.jpeg).join(Sample, Sample.id == Thumbnail.sample_id)
                                  .where(Sample.id == int(sample_id), Sample.collection_id == self._collection_id))

    def erase(self, name: str) -> Erasure:
        """Remove a person completely and prove it (see `gallery.erasure`): `ErasurePendingError` when another
        connection's open snapshot keeps their bytes in the files for now."""
        return erasure.erase(self, name)

    def finish_erasure(self, traces: list[bytes] | None = None) -> int:
        """Compact the database and clear a pending erasure (see `gallery.erasure.finish`); files searched."""
        return erasure.finish(self, traces)

    # ---- maintenance -------------------------------------------------------------------------------------------

    def migrate(self, target: Gallery) -> MigrationReport:
        """Re-embed every person into `target` (another collection, usually pinned to another model); see
        `faceatlas.gallery.migration`."""
        from faceatlas.gallery.migration import migrate

        return migrate(self, target)

    def rebuild_index(self) -> int:
        """Recreate the vector index from the database (the saved one is not read: it may be what is broken);
        returns its size."""
        with self.writing(catch_up=False) as session:
            return len(self.vectors.rebuild(session))

    def check(self) -> IndexCheck:
        """Does the index agree with the database: same size, and each sample (up to 1,000) finds itself among its
        10 nearest (not necessarily first: copies of one photo enrolled as different people tie); and is no
        erasure's data left in the files (an erasure a reader held up is finished here)."""
        pending = False
        if erasure.pending(self):
            try:
                self.finish_erasure()
            except ErasurePendingError:
                pending = True
        with read_snapshot(self.engine) as session:  # counts, index and rows as of one moment
            index = self.vectors.current(session)
            rows = session.execute(select(Sample.id, Sample.embedding).where(Sample.collection_id ==
                                                                            self._collection_id)
                                   .order_by(Sample.id).limit(1000)).all()
            stored = self.vectors.counts(session)[1]
        found = 0
        if rows:
            ids, _ = index.search(np.stack([np.frombuffer(r[1], np.float32) for r in rows]), 10)
            found = int(np.sum(ids == np.array([r[0] for r in rows])[:, None]))
        return IndexCheck(samples=stored, index_entries=len(index),
                          self_recall_at_10=found / len(rows) if rows else 1.0,
                          ok=stored == len(index) and (not rows or found == len(rows)) and not pending,
                          erasure_pending=pending)

    def close(self) -> None:
        """Release the database connections and, with a Milvus index, its connection (and milvus-lite's lock)."""
        self.vectors.close()
        self.engine.dispose()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
