"""Embedding-level fusion: concatenate weighted, normalised member embeddings.

With weights w_i (sum of squares 1), the cosine of two fused vectors is sum_i w_i^2 * cos_i: a weighted score-level
fusion that still yields one vector per face, so galleries and indexes need no special case.
"""

from __future__ import annotations

import numpy as np

from faceatlas.embed.base import Recogniser, l2_normalise


class FusedRecogniser:
    """Concatenates member recognisers' embeddings, weighted so the fused cosine is their weighted mean."""

    def __init__(self, model_id: str, members: list[Recogniser], score_weights: list[float]) -> None:
        if len(members) != len(score_weights) or not members:
            raise ValueError("a fused recogniser needs one score weight per member")
        total = float(sum(score_weights))
        self.model_id = model_id
        self.members = members
        self._scales = [np.float32(np.sqrt(w / total)) for w in score_weights]
        self.dim = sum(m.dim for m in members)

    def embed(self, bgr: np.ndarray, landmarks5: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        parts = [m.embed(bgr, landmarks5, boxes) * s for m, s in zip(self.members, self._scales, strict=True)]
        return l2_normalise(np.concatenate(parts, axis=1))
