"""`Library`: a photo library indexed into the gallery's database face by face, its faces clustered into people
and named progressively (see `labelling`)."""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from faceatlas.config import get_settings
from faceatlas.errors import FaceAtlasError, LibraryError
from faceatlas.gallery import Gallery
from faceatlas.gallery.samples import NewSample
from faceatlas.gallery.store import store_errors
from faceatlas.io.draw import face_thumbnail
from faceatlas.io.files import sha256_file
from faceatlas.io.image import IMAGE_SUFFIXES, ImageSource, iter_image_paths, load_image, shown
from faceatlas.io.video import VIDEO_SUFFIXES, frames_at
from faceatlas.organize import browse
from faceatlas.organize.faces import LibraryView
from faceatlas.organize.ingest import LASTING_ERRORS, Found, analysed, stat_key
from faceatlas.organize.labelling import Labelling
from faceatlas.organize.results import (
    Answer,
    ClusterSummary,
    FailedFile,
    Forgetting,
    IncompleteFile,
    IndexReport,
    Naming,
    PhotoMatch,
    ReviewItem,
    Unlabelling,
)
from faceatlas.organize.review import Review
from faceatlas.organize.schema import LibraryFace, LibraryFile, LibraryPath
from faceatlas.pipeline import FaceAnalyzer

SAVE_TRIES = 3
"""Attempts to commit a file or a batch of paths that another indexer may be committing at the same moment."""


@store_errors
class Library:
    """Photos on disk, their faces in the gallery's database (no copies of the photos).

    >>> lib = Library()                              # the default gallery database and collection
    >>> lib.index(["~/Pictures"])                    # recursive, incremental, resumable, parallel; clusters faces
    >>> lib.people()                                 # named people, then unnamed clusters, biggest first
    >>> lib.name(3, "Alice")                         # cluster 3 is Alice: a gallery person from now on
    >>> lib.merge(4, 9)                              # clusters 4 and 9 are one person (named or not)
    >>> for item in lib.review(): lib.answer(item, "yes")   # "is cluster 7 Alice?" yes / no / skip / a name
    >>> lib.photos(person="Alice"); lib.photos(like="query.jpg")
    >>> lib.unlabel("~/Pictures/party.jpg", "Alice")  # Alice is not in that photo: her face there leaves her
    >>> lib.forget(9)                                # erase a stranger's cluster (a named one: Gallery.erase)
    """

    def __init__(self, url: str | None = None, collection: str | None = None, profile: str | None = None,
                 workers: int | None = None, create: bool = True, gallery: Gallery | None = None) -> None:
        """`workers`: analysing processes (default: the `workers` setting; 0: one per core); `gallery`: an open
        gallery to use (its database, collection and analyzer) instead of opening one."""
        if gallery is None:  # not `gallery or`: an empty gallery is falsy (len 0)
            gallery = Gallery(url, collection, FaceAnalyzer(profile=profile), create=create)
        self.gallery = gallery
        self.profile = self.gallery.analyzer.profile
        workers = get_settings().workers if workers is None else workers
        self.workers = workers or max(1, os.cpu_count() or 1)  # 0: one per core
        self.view = LibraryView(self.gallery)
        self.labelling = Labelling(self.gallery, self.view)
        self.reviewing = Review(self.labelling)

    @property
    def _collection_id(self) -> int:
        return self.gallery.collection_id

    def index(self, folders: str | Path | Iterable[str | Path], progress: Callable[[int, int], None] | None = None,
              videos: bool = False, frame_every: float | None = None, keep_thumbnails: bool = False,
              max_pixels: int | None = None) -> IndexReport:
        """Find every image (and with `videos`, every video) under `folders` (a folder or several; linked folders
        are followed) and analyse the ones whose content is new; a video's faces are followed (one face per track)
        on a frame every `frame_every` seconds (default: the `frame_every` setting), at most `ingest.TRACK_EVERY`;
        with `keep_thumbnails`, a small JPEG of each face is stored
        with it (for review and migration when the photo is out of reach), also for the faces indexed before;
        photos above `max_pixels` (default: the
        `max_pixels` setting) are refused. `progress(done, total)` is called as files are analysed (and as the
        files of faces indexed before are given their thumbnails). Each file is committed with its faces, so an
        interrupted run resumes. A file that cannot be read is remembered and reported on every run; one refused
        for this run's setup (models missing, the pixel limit) is tried again on the next."""
        frame_every = get_settings().frame_every if frame_every is None else frame_every
        if frame_every <= 0:
            raise LibraryError("frame_every must be a positive number of seconds")
        if max_pixels is not None and max_pixels <= 0:
            raise LibraryError("max_pixels must be a positive number of pixels")
        started = time.perf_counter()
        folders = [folders] if isinstance(folders, str | Path) else folders
        roots = [Path(folder).expanduser().resolve() for folder in folders]
        for root in roots:
            if not root.is_dir() or not os.access(root, os.R_OK | os.X_OK):
                raise LibraryError(f"{root}: not a readable folder")
        report = IndexReport()
        suffixes = IMAGE_SUFFIXES | VIDEO_SUFFIXES if videos else IMAGE_SUFFIXES
        paths = sorted(set(iter_image_paths(roots, suffixes)))
        real = {shown(path): str(path) for path in paths}  # names as stored (`shown`) -> as the system opens them
        present = set(real)
        report.seen = len(paths)
        self._forget_setup_errors()
        jobs, waiting = self._plan(paths, report, frame_every)
        wanting = self._wanting_thumbnails(present) if keep_thumbnails else {}
        steps = iter(range(1, len(jobs) + len(wanting) + 1))

        def step() -> None:
            if progress:
                progress(next(steps), len(jobs) + len(wanting))

        spec = replace(self.gallery.analyzer.spec, threads=1, max_pixels=max_pixels)  # one thread per worker
        with Session(self.gallery.engine) as session:
            for found in analysed(jobs, spec, self.workers, keep_thumbnails):
                self._commit(session, found, waiting.pop(found.sha256, []), report)
                step()
        report.removed_paths = self._forget_missing(roots, present, suffixes)
        for path, faces in wanting.items():
            report.thumbnails_added += self._cut_thumbnails(real[path], faces)
            step()
        report.clusters = self.labelling.update()
        report.seconds = round(time.perf_counter() - started, 2)
        return report

    def _plan(self, paths: list[Path], report: IndexReport, frame_every: float
              ) -> tuple[list[tuple[str, str, int, int, float]], dict[str, list[tuple[str, int, int]]]]:
        """The files to analyse (one per new content; a video's with its sampling interval) and, per new content,
        its other paths to record."""
        with Session(self.gallery.engine) as session:
            known_paths = {row.path: row for row in session.scalars(
                select(LibraryPath).where(LibraryPath.collection_id == self._collection_id))}
            known_content = dict(session.execute(select(LibraryFile.sha256, LibraryFile.id).where(
                LibraryFile.collection_id == self._collection_id)).all())
            problems = {row.id: row for row in session.execute(
                select(LibraryFile.id, LibraryFile.error, LibraryFile.warning).where(
                    LibraryFile.collection_id == self._collection_id,
                    LibraryFile.error.is_not(None) | LibraryFile.warning.is_not(None)))}
            jobs, waiting, moved = [], {}, []
            max_bytes = get_settings().max_file_bytes
            for path in paths:
                try:
                    size, mtime_ns = stat_key(path)
                    seen = known_paths.get(shown(path))
                    if seen is not None and (seen.size, seen.mtime_ns) == (size, mtime_ns):
                        report.unchanged += 1
                        _report_problem(report, shown(path), problems.get(seen.file_id))
                        continue
                    if size > max_bytes and path.suffix.lower() not in VIDEO_SUFFIXES:  # not even hashed
                        report.failed.append(FailedFile(shown(path), f"ImageTooLargeError: {size:,} bytes, more "
                                                        f"than the limit of {max_bytes:,} (FACEATLAS_MAX_FILE_BYTES)"))
                        continue
                    digest = sha256_file(path)
                except OSError as error:
                    report.failed.append(FailedFile(shown(path), f"{type(error).__name__}: {error}"))
                    continue
                if digest in known_content:
                    moved.append((str(path), known_content[digest], size, mtime_ns))
                    report.known_content += 1
                    _report_problem(report, shown(path), problems.get(known_content[digest]))
                elif digest in waiting:
                    waiting[digest].append((str(path), size, mtime_ns))
                else:
                    waiting[digest] = []
                    is_video = path.suffix.lower() in VIDEO_SUFFIXES
                    jobs.append((str(path), digest, size, mtime_ns, frame_every if is_video else 0.0))
            self._saved(session, lambda: [self._record_path(session, *row) for row in moved])
        return jobs, waiting

    def _forget_setup_errors(self) -> None:
        """Files recorded as failed for a run's setup, not their content (by versions that did not tell the two
        apart), are forgotten, to be analysed again."""
        with Session(self.gallery.engine) as session:
            session.execute(delete(LibraryFile).where(
                LibraryFile.collection_id == self._collection_id, LibraryFile.error.is_not(None),
                *[LibraryFile.error.not_like(f"{name}:%") for name in LASTING_ERRORS]))
            session.commit()

    def _record_path(self, session: Session, path: str, file_id: int, size: int, mtime_ns: int) -> None:
        """Where a file was seen, stored as `shown` (a name that is not UTF-8 escaped: the database takes text)."""
        path = shown(path)
        session.execute(delete(LibraryPath).where(LibraryPath.collection_id == self._collection_id,
                                                  LibraryPath.path == path))
        session.add(LibraryPath(collection_id=self._collection_id, path=path, file_id=file_id, size=size,
                                mtime_ns=mtime_ns))

    def _saved(self, session: Session, write: Callable[[], object]) -> object:
        """`write()` committed. Another indexer over the same folders may commit the same content or path first:
        then this transaction is rolled back and written again, seeing that row (`write` must check for it)."""
        for _ in range(SAVE_TRIES - 1):
            try:
                result = write()
                session.commit()
                return result
            except IntegrityError:
                session.rollback()
        result = write()
        session.commit()
        return result

    def _commit(self, session: Session, found: Found, others: list[tuple[str, int, int]],
                report: IndexReport) -> None:
        """One analysed file, its faces and its paths, in one transaction (only the paths if another indexer
        committed the same content meanwhile); nothing for a file to try again next run."""
        if found.retry:
            report.failed += [FailedFile(shown(path), found.error)
                              for path in [found.path, *(o[0] for o in others)]]
            return
        if self._saved(session, lambda: self._write_file(session, found, others)):
            report.known_content += 1 + len(others)
        elif found.error:
            report.failed += [FailedFile(shown(path), found.error) for path in [found.path, *(o[0] for o in others)]]
        else:
            report.analysed += 1
            report.copies += len(others)
            report.faces += len(found.boxes)
            if found.warning:
                report.incomplete.append(IncompleteFile(shown(found.path), found.warning))

    def _write_file(self, session: Session, found: Found, others: list[tuple[str, int, int]]) -> bool:
        """Add the file, its faces and its paths; True if the content was there already (only paths added)."""
        file_id = session.scalar(select(LibraryFile.id).where(LibraryFile.collection_id == self._collection_id,
                                                              LibraryFile.sha256 == found.sha256))
        known = file_id is not None
        if not known:
            found.error = found.error or self._faces_problem(found)
            faces = 0 if found.error else len(found.boxes)
            record = LibraryFile(collection_id=self._collection_id, sha256=found.sha256, size=found.size,
                                 error=found.error, warning=found.warning, faces=faces)
            session.add(record)
            session.flush()
            file_id = record.id
            for i in range(faces):
                session.add(LibraryFace(collection_id=self._collection_id, file_id=file_id,
                                        frame_ms=None if found.frames is None else int(found.frames[i]),
                                        box=[round(float(v), 2) for v in found.boxes[i]],
                                        detection_score=float(found.scores[i]),
                                        quality=float(found.quality[i]) if found.quality is not None else None,
                                        embedding=np.asarray(found.embeddings[i], np.float32).tobytes(),
                                        thumbnail=found.thumbnails[i] if found.thumbnails else None))
        for path, size, mtime_ns in [(found.path, found.size, found.mtime_ns), *others]:
            self._record_path(session, path, file_id, size, mtime_ns)
        return known

    def _faces_problem(self, found: Found) -> str | None:
        """Why the faces found in a file may not be stored (the gallery's one check, `sample_problem`), or None."""
        for i in range(len(found.boxes)):
            quality = found.quality[i] if found.quality is not None else None
            problem = self.gallery.sample_problem(NewSample(
                found.embeddings[i], None if quality is None or np.isnan(quality) else float(quality),
                [float(v) for v in found.boxes[i]], "", found.thumbnails[i] if found.thumbnails else None))
            if problem:
                return f"face {i}: {problem}; its faces were not stored"
        return None

    def _forget_missing(self, roots: list[Path], present: set[str], suffixes: frozenset[str]) -> int:
        """Drop the paths under `roots` of the kinds this run looked for (`suffixes`: videos only with `videos`)
        that are no longer there (their content's faces stay, for a later move)."""
        with Session(self.gallery.engine) as session:
            gone = [row.id for row in session.scalars(select(LibraryPath).where(
                LibraryPath.collection_id == self._collection_id))
                    if row.path not in present and any(Path(row.path).is_relative_to(r) for r in roots)
                    and Path(row.path).suffix.lower() in suffixes]
            if gone:
                session.execute(delete(LibraryPath).where(LibraryPath.id.in_(gone)))
                session.commit()
        return len(gone)

    def _wanting_thumbnails(self, present: set[str]) -> dict[str, list[tuple[int | None, int, list]]]:
        """The faces indexed without a thumbnail whose file is among `present`, by path: (frame time or None, face
        id, box)."""
        with Session(self.gallery.engine) as session:
            where = {file_id: path for file_id, path in session.execute(
                select(LibraryPath.file_id, LibraryPath.path).where(LibraryPath.collection_id == self._collection_id))
                if path in present}
            rows = session.execute(select(LibraryFace.file_id, LibraryFace.frame_ms, LibraryFace.id, LibraryFace.box)
                                   .where(LibraryFace.collection_id == self._collection_id,
                                          LibraryFace.thumbnail.is_(None))).all()
        wanting: dict[str, list[tuple[int | None, int, list]]] = {}
        for file_id, frame_ms, face_id, box in rows:
            if file_id in where:
                wanting.setdefault(where[file_id], []).append((frame_ms, face_id, box))
        return wanting

    def _cut_thumbnails(self, path: str, faces: list[tuple[int | None, int, list]]) -> int:
        """Thumbnails for faces an earlier run indexed without them, cut again at their boxes from their photo (or
        its video frames, decoded in one pass) and stored in one short transaction after decoding (other writers do
        not wait for it); a frame or photo that cannot be read now leaves its faces without. How many were stored."""
        by_time: dict[int | None, list[tuple[int, list]]] = {}
        for frame_ms, face_id, box in faces:
            by_time.setdefault(frame_ms, []).append((face_id, box))
        times = [frame_ms for frame_ms in by_time if frame_ms is not None]
        cut = []
        with suppress(FaceAtlasError, OSError):  # unreadable now, or from some frame on
            for frame_ms, bgr in frames_at(path, times) if times else [(None, load_image(path).bgr)]:
                cut += [(face_id, face_thumbnail(bgr, box)) for face_id, box in by_time[frame_ms]]
        with Session(self.gallery.engine) as session:
            added = sum(session.execute(update(LibraryFace).where(LibraryFace.id == face_id,
                                                                  LibraryFace.thumbnail.is_(None))
                                        .values(thumbnail=jpeg)).rowcount for face_id, jpeg in cut)
            session.commit()
        return added

    def faces(self) -> int:
        """Faces indexed in this collection."""
        with Session(self.gallery.engine) as session:
            return int(session.scalar(select(func.count(LibraryFace.id)).where(
                LibraryFace.collection_id == self._collection_id)))

    def _require_indexed(self) -> None:
        with Session(self.gallery.engine) as session:
            if session.scalar(select(LibraryFile.id).where(LibraryFile.collection_id == self._collection_id)
                              .limit(1)) is None:
                raise LibraryError(f"no photos indexed in collection '{self.gallery.collection_name}' of this "
                                   f"gallery: run `faceatlas library index FOLDER` first")

    def people(self, limit: int | None = None, named: bool | None = None) -> list[ClusterSummary]:
        """Named people, then unnamed clusters, biggest first (see `browse.people`)."""
        self._require_indexed()
        return browse.people(self.view, limit, named)

    def name(self, cluster: int, name: str) -> Naming:
        """Cluster `cluster` is person `name` (joined to their cluster if they have one)."""
        self._require_indexed()
        return self.labelling.name(_number(cluster), name)

    def review(self, limit: int | None = None) -> list[ReviewItem]:
        """Clusters that may be a named person, biggest first: answer each with `answer`."""
        self._require_indexed()
        return self.reviewing.queue(limit)

    def answer(self, item: ReviewItem, reply: str) -> Answer:
        """"yes", "no", "skip" or the right name."""
        return self.reviewing.answer(item, reply)

    def merge(self, first: int, second: int) -> Naming:
        """Clusters `first` and `second` are one person (see `Labelling.merge`)."""
        self._require_indexed()
        return self.labelling.merge(_number(first), _number(second))

    def unlabel(self, path: str | Path, name: str) -> Unlabelling:
        """`name` is not who is in the photo at `path` (see `Labelling.unlabel`)."""
        self._require_indexed()
        return self.labelling.unlabel(path, name)

    def thumbnail(self, face: int) -> bytes | None:
        """A JPEG of library face `face`: the one kept (see `index(keep_thumbnails=True)`), else one cut from its
        photo or video frame where it still is; None when neither is at hand."""
        with Session(self.gallery.engine) as session:
            row = session.execute(select(LibraryFace.thumbnail, LibraryFace.file_id, LibraryFace.box,
                                         LibraryFace.frame_ms).where(LibraryFace.id == face,
                                                                     LibraryFace.collection_id == self._collection_id)
                                  ).first()
            if row is None or row.thumbnail is not None:
                return None if row is None else row.thumbnail
            paths = self.view.paths(session, [row.file_id]).get(row.file_id, [])
        for path in paths:  # paths the index found (never one a caller named)
            with suppress(FaceAtlasError, OSError, StopIteration):
                bgr = (next(frames_at(path, [row.frame_ms]))[1] if row.frame_ms is not None
                       else load_image(path).bgr)
                return face_thumbnail(bgr, row.box)
        return None

    def forget(self, cluster: int) -> Forgetting:
        """Erase an unnamed cluster's faces from the database (see `Labelling.forget`)."""
        self._require_indexed()
        return self.labelling.forget(_number(cluster))

    def photos(self, person: str | None = None, like: ImageSource | None = None) -> list[PhotoMatch]:
        """Where `person` appears, or whoever is in the photo `like`: one row per face and path."""
        self._require_indexed()
        return browse.photos(self.view, self.labelling.threshold, person, like)


def _number(cluster: object) -> int:
    """A cluster number as an int (a NumPy integer too); anything else is a clear error."""
    try:
        return operator.index(cluster)
    except TypeError:
        raise LibraryError(f"a cluster is a whole number (see people()), not {cluster!r}") from None


def _report_problem(report: IndexReport, path: str, problem: Row | None) -> None:
    """A file analysed by an earlier run that could not be read, or only in part, is reported again."""
    if problem is not None and problem.error:
        report.failed.append(FailedFile(path, problem.error))
        report.failed_before += 1
    elif problem is not None:
        report.incomplete.append(IncompleteFile(path, problem.warning))
