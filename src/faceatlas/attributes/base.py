"""What every attribute head offers: a batch of faces in, named per-face columns out."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from faceatlas.types import Faces


class AttributeHead(Protocol):
    name: str
    model_ids: tuple[str, ...]
    columns: tuple[str, ...]

    def predict(self, bgr: np.ndarray, faces: Faces) -> dict[str, np.ndarray]:
        """One array per column, each with len(faces) rows."""
        ...
