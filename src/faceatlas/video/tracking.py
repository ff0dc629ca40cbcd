"""Following faces from frame to frame: ByteTrack, from Roboflow's `trackers` package (Apache-2.0), over the faces the
pipeline finds in each frame. Its two-stage association keeps a track through frames where the face is found only
at a low score (turning, blurred, half covered), and its Kalman filter predicts where a face missed outright is.

`trackers` declares the non-headless `opencv-python`, which would overwrite our headless OpenCV; it is installed
without its dependencies (`pip install --no-deps trackers==2.6.1`, as `.ci/run` and the README do), the ones it needs
at run time (supervision, scipy) being ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceatlas.errors import ModelUnavailableError
from faceatlas.types import Faces

LOST_S = 1.0
"""How long a track that sees no face is kept (predicted by its motion) before it ends."""

CONFIRM_FRAMES = 2
"""A new face becomes a track once it has been found in this many frames in a row (one-frame false alarms never do)."""

START_SCORE = 0.6
"""A face starts a track only at this detector score or above; lower ones can only continue a track."""

MIN_IOU = 0.2
"""A face continues a track when its box overlaps the track's predicted box at least this much."""

MAX_GROWTH = 1.25
"""A predicted box is kept within this factor of the size last seen (a Kalman filter left to coast extrapolates the
size too: unchecked, the box of a face gone for a second grew to fill the frame)."""


def steady_box(predicted: np.ndarray, seen: np.ndarray, max_growth: float = MAX_GROWTH) -> np.ndarray:
    """`predicted` (xyxy) with its width and height kept within `max_growth` of `seen`'s, about its centre."""
    centre = (predicted[:2] + predicted[2:]) / 2
    size, last = predicted[2:] - predicted[:2], np.maximum(seen[2:] - seen[:2], 1e-3)
    half = np.clip(size, last / max_growth, last * max_growth) / 2
    return np.concatenate([centre - half, centre + half]).astype(np.float32)


@dataclass(frozen=True)
class Coasting:
    """A confirmed track not seen in this frame: its id, the box its motion predicts, and for how long it is unseen."""

    track_id: int
    box: np.ndarray
    unseen_s: float


class FaceTracker:
    """ByteTrack over faces; `update` gives each face of a frame its track id (-1 until confirmed)."""

    def __init__(self, fps: float = 30.0, lost_s: float = LOST_S, start_score: float = START_SCORE,
                 confirm_frames: int = CONFIRM_FRAMES, min_iou: float = MIN_IOU) -> None:
        try:
            from trackers import ByteTrackTracker
        except ImportError as error:
            raise ModelUnavailableError(
                "tracking needs the 'trackers' package: pip install --no-deps 'trackers==2.6.1' (without its "
                f"dependencies: it would pull a second OpenCV): {error}") from None
        self._tracker = ByteTrackTracker(lost_track_buffer=max(1, round(lost_s * 30)), frame_rate=fps,
                                         track_activation_threshold=start_score,
                                         minimum_consecutive_frames=confirm_frames, minimum_iou_threshold=min_iou,
                                         high_conf_det_threshold=start_score)
        self._last_s: float | None = None

    def update(self, faces: Faces, time_s: float) -> np.ndarray:
        """(N,) int: the track id of each face of this frame (in `faces`' order), -1 for a face not (yet) in a
        confirmed track. Times must not go backwards; a repeated time is nudged forward by a microsecond."""
        import supervision as sv

        if self._last_s is not None and time_s <= self._last_s:
            time_s = self._last_s + 1e-6
        self._last_s = time_s
        detections = sv.Detections(xyxy=faces.boxes.astype(np.float32).reshape(-1, 4),
                                   confidence=faces.scores.astype(np.float32),
                                   data={"row": np.arange(len(faces))})
        tracked = self._tracker.update(detections, timestamp=time_s)
        ids = np.full(len(faces), -1, dtype=np.int64)
        if len(tracked):
            ids[np.asarray(tracked.data["row"], dtype=int)] = np.asarray(tracked.tracker_id, dtype=np.int64)
        return ids

    def coasting(self) -> list[Coasting]:
        """The confirmed tracks that saw no face in the last update, with their predicted boxes."""
        return [Coasting(int(t.tracker_id), np.asarray(t.get_state_bbox(), np.float32),
                         float(t.time_since_update_seconds))
                for t in self._tracker.tracks if t.tracker_id >= 0 and t.time_since_update > 0]

    def alive_ids(self) -> set[int]:
        """The ids of the confirmed tracks still followed (seen now, or lost for less than `lost_s`)."""
        return {int(t.tracker_id) for t in self._tracker.tracks if t.tracker_id >= 0}
