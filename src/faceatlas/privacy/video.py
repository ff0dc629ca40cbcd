"""Anonymising videos: every face the recall-tuned pipeline finds in a frame is hidden, and faces are followed
(`faceatlas.video`) so that one the detector misses for a few frames (turning, blurred, occluded) stays hidden: a
track unseen is covered at the box its motion predicts, and where it was last seen, for `HOLD_S`; when it is found
again within `LAG` frames the frames between are covered along the line from where it was to where it is; a new
track's first box also covers the `BACKFILL` frames before it. Frames are written at the source's own timestamps,
its audio copied through untouched, and none of its metadata.

A keep-list leaves the people of a gallery who consented visible (everyone else hidden), or the opposite hides only
named people; a face is hidden until its track is identified (privacy fails closed)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from faceatlas.privacy.images import RECALL_THRESHOLD
from faceatlas.privacy.keep import FPIR, KeepList
from faceatlas.privacy.masking import ENLARGE, hide_faces
from faceatlas.results import Result
from faceatlas.types import Faces
from faceatlas.video import FaceFollower, TrackedFrame, video_analyzer

if TYPE_CHECKING:
    from faceatlas.io.media import VideoSource
    from faceatlas.pipeline import FaceAnalyzer

HOLD_S = 1.0
"""A track unseen is still covered at its predicted box for this long (the tracker keeps it as long)."""

LAG = 12
"""Frames held back before writing, so a face found again after a gap this short is covered in the gap."""

BACKFILL = 6
"""A new track's first box also covers this many frames before it (a face is often found a few frames after it came
into view: blurred, turning, dark)."""


@dataclass(frozen=True)
class AnonymizedVideo(Result):
    """One video anonymised: its frames, those where something was hidden, the face instances hidden (found, held
    or interpolated), the tracks, the faces left visible by a keep-list, and the audio streams copied."""

    source: str
    output: str
    mode: str
    frames: int
    frames_touched: int
    faces_hidden: int
    held: int
    tracks: int
    kept_visible: int
    audio_streams: int
    warning: str | None = None


@dataclass
class _Pending:
    """A frame waiting in the lag buffer: its pixels, time and the boxes to hide."""

    time_ms: int
    image: np.ndarray
    size: tuple[int, int]
    boxes: list[np.ndarray] = field(default_factory=list)
    held: int = 0


def video_anonymizer(profile: str | None = None, threads: int | None = None, max_pixels: int | None = None,
                     threshold: float = RECALL_THRESHOLD) -> FaceAnalyzer:
    """The pipeline for anonymising video: `video_analyzer` at the recall threshold of photos."""
    return video_analyzer(profile, threads, max_pixels, score_threshold=threshold)


def anonymize_video(source: VideoSource, output: Path, mode: str = "blur", enlarge: float = ENLARGE,
                    analyzer: FaceAnalyzer | None = None, keep: KeepList | None = None) -> AnonymizedVideo:
    """Anonymise the video `source` into `output` (a new file, `faceatlas.io.media.OUTPUT_FORMATS`), atomically.

    >>> anonymize_video(VideoSource("party.mp4"), Path("party-anonymous.mp4"), mode="pixelate").frames_touched
    """
    from faceatlas.io.media import write_video

    if Path(source.name).resolve() == Path(output).resolve():
        raise ValueError(f"{output} is the input itself: anonymised videos never overwrite their original")
    follower = FaceFollower(analyzer or video_anonymizer(), gallery=keep.gallery if keep else None,
                            fpir=keep.fpir if keep else FPIR, lost_s=HOLD_S)
    counts = _Counts()
    frames = _hidden_frames(follower.follow(source), mode, enlarge, keep, counts)
    audio = None if source.live or not Path(source.name).is_file() else Path(source.name)
    written = write_video(Path(output), frames, audio_from=audio)
    return AnonymizedVideo(source=source.name, output=str(output), mode=mode, frames=written,
                           frames_touched=counts.touched, faces_hidden=counts.hidden, held=counts.held,
                           tracks=counts.tracks, kept_visible=counts.kept, audio_streams=_audio_streams(audio),
                           warning=counts.warning)


@dataclass
class _Counts:
    touched: int = 0
    hidden: int = 0
    held: int = 0
    tracks: int = 0
    kept: int = 0
    warning: str | None = None


def _hidden_frames(tracked: Iterator[TrackedFrame], mode: str, enlarge: float, keep: KeepList | None,
                   counts: _Counts) -> Iterator[tuple[int, np.ndarray]]:
    """(time, pixels) of each frame with its faces hidden, `LAG` frames behind the tracker."""
    waiting: deque[_Pending] = deque()
    last_seen: dict[int, tuple[int, np.ndarray]] = {}  # track id -> (position in the stream, box)
    position = 0
    for frame in tracked:
        shot = frame.shot
        assert shot.image is not None
        pending = _Pending(shot.time_ms or 0, shot.image, shot.faces.image_size)
        visible = {tid for tid, name, decided in zip(frame.track_ids.tolist(), frame.names, frame.decided, strict=True)
                   if tid >= 0 and keep is not None and keep.visible(name, decided)}
        for box, track_id in zip(shot.faces.boxes, frame.track_ids.tolist(), strict=True):
            if track_id in visible:
                counts.kept += 1
                continue
            pending.boxes.append(box)
            if track_id >= 0:
                if track_id in last_seen:
                    _fill_gap(waiting, position, last_seen[track_id], box)
                else:
                    _backfill(waiting, box)
                last_seen[track_id] = (position, box)
        for coasting in frame.coasting:  # at its predicted box, and where it was last seen (a sway turns back)
            if coasting.unseen_s <= HOLD_S and coasting.track_id not in visible:
                seen = last_seen.get(coasting.track_id)
                pending.boxes += [coasting.box] if seen is None else [coasting.box, seen[1]]
                pending.held += 1
        counts.tracks += sum(e.event == "track_started" for e in frame.events)
        counts.warning = shot.warning or counts.warning
        waiting.append(pending)
        position += 1
        if len(waiting) > LAG:
            yield _render(waiting.popleft(), mode, enlarge, counts)
    while waiting:
        yield _render(waiting.popleft(), mode, enlarge, counts)


def _backfill(waiting: deque[_Pending], box: np.ndarray) -> None:
    """A new track: its first box covers the last `BACKFILL` frames waiting too."""
    for pending in list(waiting)[-BACKFILL:]:
        pending.boxes.append(box)
        pending.held += 1


def _fill_gap(waiting: deque[_Pending], position: int, seen: tuple[int, np.ndarray], box: np.ndarray) -> None:
    """A track found at `position` after a gap: cover the frames of the gap still waiting, along the line between
    its boxes."""
    if position - seen[0] <= 1:
        return
    start = position - len(waiting)  # the stream position of waiting[0]
    for missing in range(max(seen[0] + 1, start), position):
        share = (missing - seen[0]) / (position - seen[0])
        waiting[missing - start].boxes.append(seen[1] + (box - seen[1]) * share)
        waiting[missing - start].held += 1


def _render(pending: _Pending, mode: str, enlarge: float, counts: _Counts) -> tuple[int, np.ndarray]:
    if not pending.boxes:
        return pending.time_ms, pending.image
    boxes = np.stack(pending.boxes).astype(np.float32)
    faces = Faces(boxes=boxes, scores=np.ones(len(boxes), np.float32),
                  landmarks5=np.zeros((len(boxes), 5, 2), np.float32), image_size=pending.size)
    counts.touched += 1
    counts.hidden += len(boxes)
    counts.held += pending.held
    return pending.time_ms, hide_faces(pending.image, faces, mode, enlarge)


def _audio_streams(path: Path | None) -> int:
    if path is None:
        return 0
    import av

    with av.open(str(path)) as container:
        return len(container.streams.audio)
