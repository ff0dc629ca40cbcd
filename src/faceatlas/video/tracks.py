"""A face's track through a video: when it was seen, a quality-weighted identity template built from the few frames
that were embedded, its best shot, and its identity decided with hysteresis (a decision changes only when the
template says so twice in a row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from faceatlas.types import Faces

MIN_WEIGHT = 0.05
"""A face's weight in its track's template is its quality, at least this (a poor face still counts a little)."""

SWITCH_VOTES = 2
"""A track's identity changes (to another name, or from a name to unknown) only after this many identifications of
its template in a row agree on the change; a track's first answer is taken at once."""


@dataclass(eq=False)
class Track:
    """One face followed through a video. Times are milliseconds on the source's clock."""

    track_id: int
    first_ms: int
    first_frame: int
    last_ms: int = 0
    last_frame: int = 0
    box: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    frames: int = 0
    embedded: int = 0
    last_embed_ms: int = -(10 ** 9)
    last_embed_area: float = 0.0
    template_sum: np.ndarray | None = None
    weight: float = 0.0
    best_quality: float = -1.0
    best_ms: int = 0
    best_crop: np.ndarray | None = None  # the best face with a margin
    best_crop_box: np.ndarray | None = None  # its box in the crop
    best_face: Faces | None = None  # the best shot's face: box, landmarks, the heads' columns
    best_shot: str | None = None
    name: str | None = None
    score: float | None = None
    decided: bool = False
    _votes: tuple[str | None, int] = (None, 0)

    def seen(self, frame: int, time_ms: int, box: np.ndarray) -> None:
        self.last_frame, self.last_ms, self.box = frame, time_ms, box
        self.frames += 1

    @property
    def template(self) -> np.ndarray | None:
        """The unit-length quality-weighted mean of the track's embeddings (None before the first)."""
        if self.template_sum is None:
            return None
        return self.template_sum / max(float(np.linalg.norm(self.template_sum)), 1e-12)

    def add_embedding(self, vector: np.ndarray, quality: float, time_ms: int, area: float) -> None:
        weight = max(float(quality), MIN_WEIGHT)
        self.template_sum = vector * weight if self.template_sum is None else self.template_sum + vector * weight
        self.weight += weight
        self.embedded += 1
        self.last_embed_ms, self.last_embed_area = time_ms, area

    def offer_shot(self, crop: np.ndarray, box_in_crop: np.ndarray, face: Faces, quality: float, time_ms: int
                   ) -> bool:
        """Keep `crop` (the face with a margin; its box in it) and `face` (one row, in frame coordinates) as the best
        shot if its quality beats the best so far; whether it did."""
        if quality <= self.best_quality:
            return False
        self.best_quality, self.best_ms, self.best_face = float(quality), time_ms, face
        self.best_crop, self.best_crop_box = crop, box_in_crop
        return True

    def vote(self, name: str | None, score: float | None) -> bool:
        """One identification of the template: `name` (None: unknown) at `score`. Whether the track's identity was
        decided or changed: the first answer is taken at once, a change only after `SWITCH_VOTES` in a row."""
        if not self.decided:
            self.name, self.score, self.decided = name, score, True
            return True
        if name == self.name:
            self._votes = (None, 0)
            self.score = score if name is not None else self.score
            return False
        candidate, count = self._votes
        count = count + 1 if candidate == name else 1
        if count < SWITCH_VOTES:
            self._votes = (name, count)
            return False
        self.name, self.score, self._votes = name, score, (None, 0)
        return True
