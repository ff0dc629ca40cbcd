"""Keep-lists: who stays visible when faces are hidden. Consenting people enrolled in a gallery stay visible and
everyone else is hidden, or the reverse (only the people named are hidden). A face is hidden until it is identified:
privacy fails closed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from faceatlas.gallery import Gallery
    from faceatlas.types import Faces

FPIR = 1e-2
"""The false-positive identification rate a face is named at (a stranger taken for someone who stays visible)."""


@dataclass(frozen=True)
class KeepList:
    """Who stays visible: the people named in `names` of `gallery` (all of its people when `names` is empty); with
    `hide_only`, the reverse: only the people named are hidden and everyone else stays visible."""

    gallery: Gallery
    names: frozenset[str] = frozenset()
    hide_only: bool = False
    fpir: float = FPIR

    def __post_init__(self) -> None:
        if self.hide_only and not self.names:
            raise ValueError("hiding only named people needs at least one name")

    def visible(self, name: str | None, decided: bool) -> bool:
        """Whether a face identified as `name` (None: unknown) stays visible; an undecided face never does."""
        if not decided:
            return False
        if self.hide_only:
            return name is None or name not in self.names
        return name is not None and (not self.names or name in self.names)

    def to_hide(self, faces: Faces) -> Faces:
        """The faces of a photo (with embeddings) that are hidden: all but those identified as staying visible."""
        if len(faces) == 0:
            return faces
        answers = self.gallery.identify(faces, fpir=self.fpir, top_k=1)
        return faces[np.array([not self.visible(a.decision, True) for a in answers], bool)]
