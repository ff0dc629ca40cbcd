"""Eye openness, gaze direction and blinks from the face mesh and the iris model.

Openness is the eye aspect ratio (Soukupová and Čech 2016) on the iris model's eye contour, whose lids follow a
closing eye far better than the mesh's (on a talking clip with blinks the mesh's ratio spanned 0.22-0.27, the
contour's 0.08-0.36, 1st to 95th percentile): mean lid-to-lid distance over corner-to-corner distance; an open eye
measures about 0.25-0.35, a closed one below about 0.15. Gaze adds the
iris's offset inside the eye (an eyeball about 2.4 times narrower than the eye opening is long, so an offset of o
eye-widths is asin(2.4 o) of eye rotation) to the head pose. No gaze ground truth is available here: the
`looking_at_camera` flag is a documented heuristic, not a measured classifier.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from faceatlas.mesh.topology import CONTOUR_CORNERS, CONTOUR_LIDS, LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS

EYEBALL_TO_EYE_WIDTH = 2.4
LOOKING_YAW, LOOKING_PITCH = 15.0, 20.0
"""`looking_at_camera` when the gaze is within these many degrees of the camera, sideways and up/down."""


def eye_openness(eye_contours: np.ndarray) -> np.ndarray:
    """(N, 2) eye aspect ratios (image-left eye, image-right eye) from (N, 2, 71, 3) eye contours."""
    width = np.linalg.norm(eye_contours[:, :, CONTOUR_CORNERS[0]] - eye_contours[:, :, CONTOUR_CORNERS[1]], axis=-1)
    height = np.mean([np.linalg.norm(eye_contours[:, :, upper] - eye_contours[:, :, lower], axis=-1)
                      for upper, lower in CONTOUR_LIDS], axis=0)
    return height / np.maximum(width, 1e-6)


def iris_offsets(mesh: np.ndarray, iris_centres: np.ndarray) -> np.ndarray:
    """(N, 2, 2) where each iris sits in its eye, in eye widths from the middle of the corners: x towards the image
    right, y towards the face's chin."""
    offsets = []
    for eye, corners in enumerate((LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS)):
        left, right = mesh[:, corners[0], :2], mesh[:, corners[1], :2]
        axis = right - left
        width = np.maximum(np.linalg.norm(axis, axis=1), 1e-6)
        along = axis / width[:, None]
        down = np.stack([-along[:, 1], along[:, 0]], axis=1)
        relative = iris_centres[:, eye, :2] - (left + right) / 2
        offsets.append(np.stack([np.einsum("ni,ni->n", relative, along),
                                 np.einsum("ni,ni->n", relative, down)], axis=1) / width[:, None])
    return np.stack(offsets, axis=1)


def gaze_angles(pose: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(N, 2) gaze yaw and pitch in degrees (signs as head pose) from head pose (N, 3) and iris offsets (N, 2, 2)."""
    eye = np.degrees(np.arcsin(np.clip(EYEBALL_TO_EYE_WIDTH * offsets.mean(axis=1), -1.0, 1.0)))
    return np.stack([pose[:, 0] - eye[:, 0], pose[:, 1] - eye[:, 1]], axis=1)


def looking_at_camera(gaze: np.ndarray) -> np.ndarray:
    """(N,) bool: the gaze points within `LOOKING_YAW` / `LOOKING_PITCH` degrees of the camera."""
    return (np.abs(gaze[:, 0]) < LOOKING_YAW) & (np.abs(gaze[:, 1]) < LOOKING_PITCH)


@dataclass(frozen=True)
class Blink:
    start: float  # seconds
    end: float


class BlinkDetector:
    """Blinks in a stream of per-frame eye openness of one face.

    The eyes count as closed when the mean openness falls below `closed_fraction` of the 90th percentile of the
    last `history_seconds` (so it adapts to each person's eye shape, and eyes closed from the first frame never
    become the reference); a closure from `min_duration` to `max_duration` seconds that reopens is a blink;
    longer ones are not.
    """

    def __init__(self, closed_fraction: float = 0.7, min_duration: float = 0.03, max_duration: float = 0.5,
                 history_seconds: float = 3.0) -> None:
        self.closed_fraction = closed_fraction
        self.min_duration, self.max_duration = min_duration, max_duration
        self.history_seconds = history_seconds
        self._history: deque[tuple[float, float]] = deque()
        self._closed_since: float | None = None

    def update(self, time: float, openness: float) -> Blink | None:
        """Feed one frame (time in seconds, mean eye openness); returns a `Blink` on the frame the eyes reopen."""
        baseline = float(np.percentile([v for _, v in self._history], 90)) if len(self._history) >= 5 else None
        closed = baseline is not None and openness < self.closed_fraction * baseline
        blink = None
        if closed and self._closed_since is None:
            self._closed_since = time
        elif not closed and self._closed_since is not None:
            duration = time - self._closed_since
            if self.min_duration <= duration <= self.max_duration:
                blink = Blink(self._closed_since, time)
            self._closed_since = None
        self._history.append((time, openness))
        while self._history and self._history[0][0] < time - self.history_seconds:
            self._history.popleft()
        return blink
