"""Who appears in a video, and when: the pipeline finds the faces of every frame, ByteTrack follows them
(`tracking`), and only a few frames of each track are embedded (when it starts, then at most one every
`EMBED_EVERY_MS` up to `MAX_EMBEDDINGS`, sooner when the face has grown much larger); each track's quality-weighted
template is identified against a gallery, its identity kept with hysteresis (`tracks`). The FPIR (or FMR) asked for
is the track's: each of its up to `MAX_EMBEDDINGS` searches is made at that rate divided by their number, so a
stranger's track is named at most at the rate asked for (a union bound), not once per search. A track lost and found
again within `REID_S` (someone turning away, walking behind another) keeps its id when its new face matches its
template. Events (a track started, its identity decided or changed, it ended) come with each frame."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from faceatlas.pipeline import FaceAnalyzer, calibrated_threshold
from faceatlas.results import Result
from faceatlas.types import Faces, Shot
from faceatlas.video.signals import SignalWindow, TrackSignals
from faceatlas.video.tracking import LOST_S, Coasting, FaceTracker, steady_box
from faceatlas.video.tracks import Track

if TYPE_CHECKING:
    from faceatlas.gallery import Gallery
    from faceatlas.io.media import VideoSource

EMBED_EVERY_MS = 1000
"""A track's face is embedded again at most this often (its template grows while it is on screen)."""

MAX_EMBEDDINGS = 8
"""A track's template is made of at most this many embedded faces (more would rarely change its identity)."""

GROWTH = 1.5
"""A face this many times larger (in area) than when last embedded is embedded again at once (a face walking up
to the camera becomes recognisable)."""

EMBED_BUDGET = 2
"""At most this many faces of continuing tracks are embedded per frame (new tracks always are): a crowd does not
stall the video."""

REID_S = 5.0
"""A track lost for up to this long is resumed, same id, by a new track whose face matches its template."""

REID_FMR = 1e-3
"""The false-match rate a resumed track's face is matched at."""

SHOT_WIDEN = 1.5
"""A best shot is the square around the face this many times its box's longer side (`faceatlas.io.draw.face_crop`,
the library's thumbnails' cut)."""

SIGNAL_EVERY_MS = 1000
"""With signals, each track's blinks and attention are reported over windows this long."""

EventKind = Literal["track_started", "identity", "signals", "track_ended"]


@dataclass(frozen=True)
class TrackEvent(Result):
    """Something that happened to a track: it started, its identity was decided or changed (`name` None: unknown),
    its eyes over the last `SIGNAL_EVERY_MS` (`signals`: mean openness, blinks, share of frames looking at the
    camera), or it ended (with its span, best shot, and with signals its totals)."""

    event: EventKind
    track_id: int
    time_ms: int
    frame: int
    source: str
    box: list[float] | None = None
    name: str | None = None
    score: float | None = None
    previous: str | None = None
    first_ms: int | None = None
    last_ms: int | None = None
    frames: int | None = None
    best_shot: str | None = None
    best_quality: float | None = None
    signals: SignalWindow | None = None


@dataclass(frozen=True)
class TrackedFrame:
    """One frame: its shot (faces with a `track_id` attribute column, -1 for a face not yet in a track), each face's
    track identity (None: unknown or undecided) and whether it is decided, the tracks unseen in it (`coasting`, at
    their predicted boxes, sized within `tracking.MAX_GROWTH` of the face last seen) and what happened."""

    shot: Shot
    names: list[str | None]
    decided: list[bool]
    coasting: list[Coasting]
    events: list[TrackEvent] = field(default_factory=list)

    @property
    def track_ids(self) -> np.ndarray:
        return self.shot.faces.attributes["track_id"]


def video_analyzer(profile: str | None = None, threads: int | None = None, max_pixels: int | None = None,
                   score_threshold: float = 0.5) -> FaceAnalyzer:
    """The pipeline for following faces: the profile's detector without the landmark refiner (ByteTrack's second
    association stage plays its part: an unsure face only continues a track), at `score_threshold`, with the quality
    head that weighs each face in its track's template."""
    return FaceAnalyzer(profile=profile, threads=threads, refiner="", heads=["quality"], max_pixels=max_pixels,
                        score_threshold=score_threshold)


class FaceFollower:
    """Follows the faces of one video, camera or stream at a time (`follow`); with a gallery, names its tracks; with
    `signals`, measures each tracked face's blinks and attention on every frame (the mesh head)."""

    def __init__(self, analyzer: FaceAnalyzer | None = None, gallery: Gallery | None = None,
                 fpir: float | None = 1e-2, fmr: float | None = None, best_shots: Path | None = None,
                 lost_s: float = LOST_S, reid_s: float = REID_S, signals: bool = False) -> None:
        self.analyzer = analyzer or video_analyzer()
        self.mesh = self.analyzer.with_heads("mesh") if signals else None
        self.ended: list[Track] = []  # the tracks of the last `follow`, as they ended
        self.gallery, self.fpir, self.fmr = gallery, (None if fmr is not None else fpir), fmr
        self.best_shots, self.lost_s, self.reid_s = best_shots, lost_s, reid_s
        self._reid_threshold = calibrated_threshold(self.analyzer.recogniser_card, REID_FMR)

    def follow(self, source: VideoSource) -> Iterator[TrackedFrame]:
        """A `TrackedFrame` per frame of `source`; the tracks still open end (with their events) on its last frame.
        A source that cannot be read raises its error."""
        run = _Run(self, source.name, FaceTracker(fps=30.0, lost_s=self.lost_s))
        self.ended = []
        last: TrackedFrame | None = None
        for shot in self.analyzer.shots(source, embed=False, batch=1 if source.live else 4, describe=False):
            if shot.error is not None:
                if last is not None:
                    yield run.finish(last)
                raise shot.error
            if last is not None:
                yield last
            last = run.step(shot)
        if last is not None:
            yield run.finish(last)


class _Run:
    """The state of following one source."""

    def __init__(self, follower: FaceFollower, source: str, tracker: FaceTracker) -> None:
        self.follower, self.source, self.tracker = follower, source, tracker
        self.by_tracker: dict[int, Track] = {}  # the tracker's id -> our track (several ids after a resume)
        self.dormant: list[Track] = []  # tracks the tracker lost, waiting `reid_s` to be resumed
        self.next_id = 1
        self.signals: dict[int, TrackSignals] = {}  # by our track id, with `signals`
        self.window_start: dict[int, int] = {}

    def step(self, shot: Shot) -> TrackedFrame:
        assert shot.image is not None
        frame, now = shot.frame or 0, shot.time_ms or 0
        faces = shot.faces
        ids = self.tracker.update(faces, now / 1000)
        events: list[TrackEvent] = []
        wanted = self._wanted(faces, ids, now)
        if wanted:
            completed = self.follower.analyzer.complete(shot.image, faces[wanted])
            seen = {id(self.by_tracker[int(t)]) for t in ids if int(t) in self.by_tracker}
            self._learn(shot, completed, [int(ids[i]) for i in wanted], seen, now, frame, events)
        names, decided = [], []
        for i, tracker_id in enumerate(ids):
            track = self.by_tracker.get(int(tracker_id))
            if track is not None:
                track.seen(frame, now, faces.boxes[i])
            names.append(track.name if track is not None else None)
            decided.append(track is not None and track.decided)
        track_ids = np.array([self.by_tracker[int(t)].track_id if int(t) in self.by_tracker else -1 for t in ids],
                             np.int64)
        if self.follower.mesh is not None:
            self._measure(shot, ids, now, frame, events)
        self._retire(now, frame, events)
        coasting = [Coasting(self.by_tracker[c.track_id].track_id, steady_box(c.box, self.by_tracker[c.track_id].box),
                             c.unseen_s) for c in self.tracker.coasting() if c.track_id in self.by_tracker]
        tracked = Shot(faces=faces.with_attributes({"track_id": track_ids}), image=shot.image, source=shot.source,
                       index=shot.index, frame=shot.frame, time_ms=shot.time_ms, warning=shot.warning, ms=shot.ms)
        return TrackedFrame(tracked, names, decided, coasting, events)

    def finish(self, last: TrackedFrame) -> TrackedFrame:
        """`last` with every track still open or dormant ended."""
        frame, now = last.shot.frame or 0, last.shot.time_ms or 0
        open_tracks = {id(t): t for t in [*self.by_tracker.values(), *self.dormant]}
        ended = [self._ended(t, now, frame) for t in sorted(open_tracks.values(), key=lambda t: t.track_id)
                 if t.embedded]
        self.by_tracker, self.dormant = {}, []
        return TrackedFrame(last.shot, last.names, last.decided, last.coasting, [*last.events, *ended])

    # ---- embedding only what a track needs ----------------------------------------------------------------------

    def _wanted(self, faces: Faces, ids: np.ndarray, now: int) -> list[int]:
        """The faces to embed in this frame: every confirmed face without a track yet, then the continuing tracks
        most overdue (`EMBED_EVERY_MS`, `GROWTH`), up to `EMBED_BUDGET`."""
        new, due = [], []
        for i, tracker_id in enumerate(ids):
            if tracker_id < 0:
                continue
            track = self.by_tracker.get(int(tracker_id))
            if track is None:
                new.append(i)
                continue
            if track.embedded >= MAX_EMBEDDINGS:
                continue
            area = float(faces.areas[i])
            if now - track.last_embed_ms >= EMBED_EVERY_MS or area >= GROWTH * track.last_embed_area:
                due.append((track.last_embed_ms, i))
        return new + [i for _, i in sorted(due)[:EMBED_BUDGET]]

    def _learn(self, shot: Shot, completed: Faces, tracker_ids: list[int], seen: set[int], now: int, frame: int,
               events: list[TrackEvent]) -> None:
        """Add each embedded face to its track (starting, or resuming one not `seen` in this frame, for a new id),
        then identify the tracks whose template changed."""
        quality = completed.quality if completed.quality is not None else completed.scores
        changed: list[Track] = []
        for row, tracker_id in enumerate(tracker_ids):
            vector, box = completed.embeddings[row], completed.boxes[row]
            track = self.by_tracker.get(tracker_id)
            if track is None:
                track = self._resumed(vector, seen) or self._started(now, frame, box, events)
                self.by_tracker[tracker_id] = track
                seen.add(id(track))
            track.box = box
            track.add_embedding(vector, float(quality[row]), now, float(completed.areas[row]))
            crop, box_in_crop = _crop(shot.image, box)
            track.offer_shot(crop, box_in_crop, completed[[row]], float(quality[row]), now)
            changed.append(track)
        if self.follower.gallery is not None and changed:
            self._identify(changed, completed, now, frame, events)

    def _resumed(self, vector: np.ndarray, seen: set[int]) -> Track | None:
        """The track lost (dormant, or still predicted by the tracker but not `seen` in this frame: someone who walked
        behind another) whose template matches `vector` best, above the re-identification threshold; its old
        tracker ids are let go."""
        lost = [*self.dormant, *{id(t): t for t in self.by_tracker.values() if id(t) not in seen}.values()]
        scored = [(float(t.template @ vector), t) for t in lost if t.template is not None]
        best = max(scored, default=None, key=lambda pair: pair[0])
        if best is None or best[0] < self.follower._reid_threshold:
            return None
        track = best[1]
        if track in self.dormant:
            self.dormant.remove(track)
        for old in [t for t, mapped in self.by_tracker.items() if mapped is track]:
            del self.by_tracker[old]
        return track

    def _started(self, now: int, frame: int, box: np.ndarray, events: list[TrackEvent]) -> Track:
        track = Track(self.next_id, first_ms=now, first_frame=frame)
        self.next_id += 1
        events.append(TrackEvent("track_started", track.track_id, now, frame, self.source, box=_box(box)))
        return track

    def _identify(self, tracks: list[Track], completed: Faces, now: int, frame: int,
                  events: list[TrackEvent]) -> None:
        gallery = self.follower.gallery
        assert gallery is not None
        templates = np.stack([t.template for t in tracks]).astype(np.float32)
        probes = Faces(boxes=np.stack([t.box for t in tracks]).astype(np.float32).reshape(-1, 4),
                       scores=np.ones(len(tracks), np.float32), landmarks5=np.zeros((len(tracks), 5, 2), np.float32),
                       image_size=completed.image_size, embeddings=templates,
                       embedding_model=completed.embedding_model)
        fmr, fpir = (None if rate is None else rate / MAX_EMBEDDINGS
                     for rate in (self.follower.fmr, self.follower.fpir))
        answers = gallery.identify(probes, fmr=fmr, fpir=fpir, top_k=1)
        for track, answer in zip(tracks, answers, strict=True):
            previous, top = track.name, answer.candidates[0].score if answer.candidates else None
            if track.vote(answer.decision, top):
                events.append(TrackEvent("identity", track.track_id, now, frame, self.source, box=_box(track.box),
                                         name=track.name, score=_round(top), previous=previous))

    # ---- blinks and attention -----------------------------------------------------------------------------------

    def _measure(self, shot: Shot, ids: np.ndarray, now: int, frame: int, events: list[TrackEvent]) -> None:
        """The mesh head on every tracked face of this frame, into its track's signals; a `signals` event per track
        each `SIGNAL_EVERY_MS`."""
        assert self.follower.mesh is not None and shot.image is not None
        rows = [i for i, t in enumerate(ids) if int(t) in self.by_tracker]
        if not rows:
            return
        measured = self.follower.mesh.describe(shot.image, shot.faces[rows]).attributes
        for k, row in enumerate(rows):
            track = self.by_tracker[int(ids[row])]
            signals = self.signals.setdefault(track.track_id, TrackSignals())
            openness = (float(measured["left_eye_openness"][k]) + float(measured["right_eye_openness"][k])) / 2
            signals.update(now, openness, bool(measured["looking_at_camera"][k]))
            started = self.window_start.setdefault(track.track_id, now)
            if now - started >= SIGNAL_EVERY_MS:
                self.window_start[track.track_id] = now
                events.append(TrackEvent("signals", track.track_id, now, frame, self.source, box=_box(track.box),
                                         name=track.name, signals=signals.window()))

    # ---- ending tracks ------------------------------------------------------------------------------------------

    def _retire(self, now: int, frame: int, events: list[TrackEvent]) -> None:
        """Tracks the tracker dropped become dormant; dormant ones unseen for `reid_s` end."""
        alive = self.tracker.alive_ids()
        for tracker_id in [t for t in self.by_tracker if t not in alive]:
            track = self.by_tracker.pop(tracker_id)
            if track not in self.by_tracker.values() and track not in self.dormant:
                self.dormant.append(track)
        for track in [t for t in self.dormant if now - t.last_ms > self.follower.reid_s * 1000]:
            self.dormant.remove(track)
            events.append(self._ended(track, now, frame))

    def _ended(self, track: Track, now: int, frame: int) -> TrackEvent:
        self.follower.ended.append(track)
        return TrackEvent("track_ended", track.track_id, now, frame, self.source, box=_box(track.box),
                          name=track.name, score=_round(track.score), first_ms=track.first_ms,
                          last_ms=track.last_ms, frames=track.frames, best_shot=self._write_best_shot(track),
                          best_quality=_round(track.best_quality),
                          signals=self.signals[track.track_id].total() if track.track_id in self.signals else None)

    def _write_best_shot(self, track: Track) -> str | None:
        folder = self.follower.best_shots
        if folder is None or track.best_crop is None:
            return None
        import cv2

        from faceatlas.io.files import private_folder, slug, write_atomically

        private_folder(folder)
        path = folder / f"{slug(Path(self.source).stem) or 'video'}-track{track.track_id}.jpg"
        encoded, data = cv2.imencode(".jpg", track.best_crop, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if encoded:
            write_atomically(path, data.tobytes())
            track.best_shot = str(path)
        return track.best_shot


def _crop(image: np.ndarray | None, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face's square `face_crop` (as the library's thumbnails cut it; a copy), and the box in its coordinates."""
    from faceatlas.io.draw import face_square

    assert image is not None
    left, top, right, bottom = face_square(box, SHOT_WIDEN)
    return image[top:bottom, left:right].copy(), np.asarray(box, np.float32) - np.float32([left, top, left, top])


def _box(box: np.ndarray) -> list[float]:
    return [round(float(v), 1) for v in box]


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
