"""Blinks and attention of one track over time, from the mesh head's eye openness and gaze on each frame where the
track's face is seen (`faceatlas.mesh.eyes`: blinks adapt to each person's eye shape; "looking at the camera" is a
documented heuristic, not a measured classifier)."""

from __future__ import annotations

from dataclasses import dataclass, field

from faceatlas.mesh.eyes import BlinkDetector


@dataclass(frozen=True)
class SignalWindow:
    """What one track's eyes did over a stretch of time: frames measured, mean eye openness (aspect ratio; open
    about 0.25-0.35), blinks, and the share of frames looking at the camera."""

    frames: int
    eye_openness: float
    blinks: int
    attention: float


@dataclass
class TrackSignals:
    """Blink and attention counts of one track, for the current window and in total."""

    detector: BlinkDetector = field(default_factory=BlinkDetector)
    _total: list[float] = field(default_factory=lambda: [0.0] * 4)  # sums: openness, blinks, looking, frames
    _window: list[float] = field(default_factory=lambda: [0.0] * 4)

    def update(self, time_ms: int, openness: float, looking: bool) -> None:
        blinked = self.detector.update(time_ms / 1000, openness) is not None
        for sums in (self._total, self._window):
            for i, value in enumerate((openness, float(blinked), float(looking), 1.0)):
                sums[i] += value

    def window(self) -> SignalWindow | None:
        """The window since the last call (None if nothing was measured), starting a new one."""
        measured, self._window = _summary(self._window), [0.0] * 4
        return measured

    def total(self) -> SignalWindow | None:
        """The whole track so far (None if nothing was measured)."""
        return _summary(self._total)


def _summary(sums: list[float]) -> SignalWindow | None:
    openness, blinks, looking, frames = sums
    if not frames:
        return None
    return SignalWindow(int(frames), round(openness / frames, 3), int(blinks), round(looking / frames, 3))
