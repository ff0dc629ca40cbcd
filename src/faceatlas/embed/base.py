"""What every recogniser offers: faces of one image in, L2-normalised identity embeddings out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Recogniser(Protocol):
    """Embeds the faces of one BGR image, given their five landmarks (and boxes, for models that re-fit points).

    A recogniser that embeds crops aligned to the ArcFace template sets `crop_size` (their side in pixels) and offers
    `embed_crops`: the pipeline then aligns each face once, shares the crop with the quality head, and embeds the
    crops of a whole batch of images in one call. One that cuts its own chips sets `crop_size = None`.
    """

    model_id: str
    dim: int
    crop_size: int | None

    def embed(self, bgr: np.ndarray, landmarks5: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, dim) float32, each row L2-normalised."""
        ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
