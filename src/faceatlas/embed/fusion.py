"""Embedding-level fusion: concatenate weighted, normalised member embeddings.

With weights w_i (sum of squares 1), the cosine of two fused vectors is sum_i w_i^2 * cos_i: a weighted score-level
fusion that still yields one vector per face, so galleries and indexes need no special case.
"""

from __future__ import annotations

import numpy as np

from faceatlas.embed import create_recogniser
from faceatlas.embed.base import l2_normalise
from faceatlas.models.card import ModelCard
from faceatlas.models.registry import get_card


class FusedRecogniser:
    """Concatenates the card's member recognisers' embeddings, weighted so the fused cosine is their weighted mean."""

    crop_size = None  # the members cut their own crops

    def __init__(self, card: ModelCard, threads: int = 0, flip: bool = False) -> None:
        weights = card.score_weights or [1.0] * len(card.members)
        if len(card.members) != len(weights) or not card.members:
            raise ValueError(f"fused model '{card.id}' needs one score weight per member")
        total = float(sum(weights))
        self.model_id = card.id
        self.members = [create_recogniser(get_card(member), threads, flip) for member in card.members]
        self._scales = [np.float32(np.sqrt(w / total)) for w in weights]
        self.dim = sum(m.dim for m in self.members)

    def embed(self, bgr: np.ndarray, landmarks5: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        parts = [m.embed(bgr, landmarks5, boxes) * s for m, s in zip(self.members, self._scales, strict=True)]
        return l2_normalise(np.concatenate(parts, axis=1))
