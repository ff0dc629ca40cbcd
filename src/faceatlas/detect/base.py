"""What every detector offers: one BGR image in, its faces out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from faceatlas.types import Faces


@runtime_checkable
class Detector(Protocol):
    """Finds faces in one BGR uint8 image; coordinates are in that image's pixels."""

    model_id: str

    def detect(self, bgr: np.ndarray) -> Faces: ...
