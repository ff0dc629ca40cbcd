"""What every attribute head offers: a batch of faces in, named per-face columns out."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from faceatlas.types import Faces


class AttributeHead(Protocol):
    name: str
    model_ids: tuple[str, ...]
    columns: tuple[str, ...]

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """One array per column, each with len(faces) rows. `aligned`: the faces' crops aligned to the ArcFace
        112x112 template, when the pipeline has made them for the recogniser (a head may use them, or cut its own
        chips from `bgr`)."""
        ...
