"""Indexing a photo library: which files need analysing (content-addressed, so renames and moves are free), and the
worker processes that analyse them. Each file's faces are committed in one transaction with the file, so a run killed
at any point resumes where it stopped and finishes with exactly the faces a clean run finds."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from faceatlas.config import get_settings
from faceatlas.errors import ImageDecodeError, ImageTooLargeError
from faceatlas.io.draw import face_thumbnail
from faceatlas.io.files import sha256_file
from faceatlas.io.image import UNSUPPORTED_SUFFIXES, shown
from faceatlas.pipeline import AnalyzerSpec, FaceAnalyzer
from faceatlas.types import Faces

_ANALYZER: FaceAnalyzer | None = None  # one per worker process, made by `_start_worker`

TRACK_EVERY = 0.2
"""A video's faces are followed on a frame every this many seconds at most (5 a second: a face moves little from one
to the next, so its track holds); each track gives the library one face."""

LASTING_ERRORS = ("ImageDecodeError", "VideoDecodeError")
"""The errors of a file's content (it fails the same way on every run), by class name, as an error is stored
("Name: message"); any other (models missing, the pixel limit: `ImageTooLargeError`, the unforeseen) was the run's."""


@dataclass
class Found:
    """The faces of one file, as a worker returns them (or the reason it could not)."""

    path: str
    sha256: str
    size: int
    mtime_ns: int
    boxes: np.ndarray | None = None
    scores: np.ndarray | None = None
    quality: np.ndarray | None = None
    embeddings: np.ndarray | None = None
    frames: np.ndarray | None = None  # a video's faces: the time of each face's frame, in ms
    error: str | None = None
    retry: bool = False  # the error was this run's (models missing, the pixel limit), not the file's: not recorded
    warning: str | None = None  # analysed, but not all of it (a video damaged part-way)
    thumbnails: list[bytes] | None = None  # one JPEG per face, when asked to keep them


def _start_worker(spec: AnalyzerSpec) -> None:
    """Make this process's analyzer, and end the process if the indexer that started it dies (killed, it cannot
    tell its workers; they would wait for work forever)."""
    global _ANALYZER
    _ANALYZER = spec.build()
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()


def analyse(path: str, sha256: str, size: int, mtime_ns: int, frame_every: float = 0.0,
            keep_thumbnails: bool = False) -> Found:
    """Every face of one photo, or one face per track of a video (its best shot, with the track's quality-weighted
    template as its embedding: someone on screen for a minute is one face, not one per sampled frame), through this
    worker's pipeline (embedded, with quality); with `keep_thumbnails`, a small JPEG of each face too. A video is
    followed on a frame every `frame_every` seconds, at most `TRACK_EVERY`.

    A photo is read once: its hash and its pixels come from the same bytes. Content that is no longer the content
    planned (replaced since), or a file gone meanwhile, is tried again on the next run rather than recorded; a video
    (decoded from its path) is hashed again after decoding, to the same end."""
    found = Found(path, sha256, size, mtime_ns)
    faces: list[Faces] = []
    times: list[np.ndarray] = []
    thumbnails: list[bytes] = []
    try:
        if frame_every:
            faces, times, thumbnails = _tracked(path, min(frame_every, TRACK_EVERY), keep_thumbnails, found)
            if sha256_file(path) != sha256:
                raise ChangedMeanwhile(f"{shown(path)}: changed while it was being indexed")
        else:
            [shot] = _ANALYZER.shots(_read_once(path, sha256, found), folders=False)
            if shot.error is not None:  # decoded from bytes: the error names the file, not "<bytes>"
                raise type(shot.error)(str(shot.error).replace("<bytes>", shown(path)))
            faces.append(shot.faces)
            thumbnails += [face_thumbnail(shot.image, box) for box in shot.faces.boxes] if keep_thumbnails else []
    except (ChangedMeanwhile, FileNotFoundError) as error:  # the run's, not the file's: next run sees it again
        found.error, found.retry = f"{type(error).__name__}: {error}", True
        return found
    except Exception as error:  # one bad file is reported, never the end of the run
        found.error = f"{type(error).__name__}: {error}"
        found.retry = not _in_the_file(error) or (bool(frame_every) and _name_or_absence(path))
        return found
    found.boxes = np.concatenate([f.boxes for f in faces]) if faces else np.zeros((0, 4), np.float32)
    found.scores = np.concatenate([f.scores for f in faces]) if faces else np.zeros(0, np.float32)
    with_faces = [f for f in faces if len(f)]
    if with_faces:
        found.quality = np.concatenate([f.quality for f in with_faces])
        found.embeddings = np.concatenate([f.embeddings for f in with_faces])
    if frame_every:
        found.frames = np.concatenate(times) if times else np.zeros(0, np.int64)
    if keep_thumbnails:
        found.thumbnails = thumbnails
    return found


def _tracked(path: str, every: float, keep_thumbnails: bool, found: Found
             ) -> tuple[list[Faces], list[np.ndarray], list[bytes]]:
    """A video's faces, one per track, their times counted from the video's start (as `frames_at` finds them) and,
    with `keep_thumbnails`, their thumbnails (from the best shot's crop); a damage warning goes into `found`."""
    from faceatlas.io.media import VideoSource
    from faceatlas.video import FaceFollower

    source = VideoSource(path, every=every, max_pixels=_ANALYZER.spec.max_pixels)
    follower = FaceFollower(_ANALYZER)
    for frame in follower.follow(source):
        found.warning = frame.shot.warning or found.warning
    faces, times, thumbnails = [], [], []
    for track in sorted(follower.ended, key=lambda t: t.track_id):
        best, template = track.best_face, track.template
        if best is None or template is None or track.best_crop is None or track.best_crop_box is None:
            continue
        faces.append(best.with_embeddings(template[None].astype(np.float32), best.embedding_model))
        times.append(np.array([track.best_ms - source.start_ms], np.int64))
        if keep_thumbnails:
            thumbnails.append(face_thumbnail(track.best_crop, track.best_crop_box))
    return faces, times, thumbnails


class ChangedMeanwhile(Exception):
    """The file under a path is not the content the run planned to analyse (replaced, or written to, meanwhile)."""


def _read_once(path: str, sha256: str, found: Found) -> bytes:
    """The bytes of the photo at `path` (within the byte limit), after checking they are the planned content."""
    unsupported = UNSUPPORTED_SUFFIXES.get(Path(path).suffix.lower())
    if unsupported:
        raise ImageDecodeError(f"{shown(path)}: {unsupported} photos are not supported: convert it to JPEG or PNG")
    limit = get_settings().max_file_bytes
    # never blocks: a pipe put at the path since the plan would otherwise wait forever for a writer
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ChangedMeanwhile(f"{shown(path)}: no longer a regular file")
        if status.st_size > limit:
            raise ImageTooLargeError(f"{shown(path)}: {status.st_size:,} bytes, more than the limit of {limit:,} "
                                     "(FACEATLAS_MAX_FILE_BYTES)")
        data = handle.read(limit + 1)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ChangedMeanwhile(f"{shown(path)}: changed while it was being indexed")
    found.size, found.mtime_ns = len(data), status.st_mtime_ns
    return data


def _name_or_absence(path: str) -> bool:
    """Whether a video (decoded from its path) failed for its name (not UTF-8) or for being gone, not for its
    content: such a failure is not recorded against the content, so renamed or restored it is analysed."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return not os.path.exists(path)


def _in_the_file(error: Exception) -> bool:
    """Whether the file itself cannot be read (see `LASTING_ERRORS`)."""
    return type(error).__name__ in LASTING_ERRORS


def analysed(jobs: list[tuple[str, str, int, int, float]], spec: AnalyzerSpec, workers: int,
             keep_thumbnails: bool = False) -> Iterator[Found]:
    """Results of `analyse` for each job, in order, from `workers` processes each running the analyzer `spec`
    describes; a few jobs ahead are in flight, so results are committed while the rest are analysed."""
    if not jobs:
        return
    # spawned, not forked: forked workers hung here at their first image (a fork copies the parent's thread-pool
    # state, e.g. OpenCV's, mid-use; which pool it was was not pinned down)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(spec,)) as pool:
        queue = iter(jobs)
        def submit(job: tuple[str, str, int, int, float]) -> Future[Found]:
            return pool.submit(analyse, *job, keep_thumbnails=keep_thumbnails)

        pending: deque[Future[Found]] = deque(map(submit, islice(queue, 4 * workers)))
        while pending:
            found = pending.popleft().result()
            pending.extend(map(submit, islice(queue, 1)))
            yield found


def stat_key(path: Path) -> tuple[int, int]:
    """(size, modification time in ns): unchanged means the content need not be hashed again. Anything but a
    regular file (a pipe would block a read forever; a device) is an `OSError`."""
    status = os.stat(path)
    if not stat.S_ISREG(status.st_mode):
        raise OSError(f"{shown(path)}: not a regular file")
    return status.st_size, status.st_mtime_ns
