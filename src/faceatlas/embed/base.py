"""The recogniser Protocol and the factory that builds one from its card."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from faceatlas.models.card import ModelCard


@runtime_checkable
class Recogniser(Protocol):
    """Embeds the faces of one BGR image, given their five landmarks (and boxes, for models that re-fit points)."""

    model_id: str
    dim: int

    def embed(self, bgr: np.ndarray, landmarks5: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, dim) float32, each row L2-normalised."""
        ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def create_recogniser(card: ModelCard, threads: int = 0, flip: bool = False) -> Recogniser:
    """Instantiate the implementation a card names (`architecture`); `flip` adds mirrored-crop test-time augmentation
    where the implementation supports it."""
    if card.architecture in ("sface", "arcface"):
        from faceatlas.embed.onnx_arcface import OnnxArcFaceRecogniser

        return OnnxArcFaceRecogniser(card, threads=threads, flip=flip)
    if card.architecture == "dlib_resnet":
        from faceatlas.embed.dlib_resnet import DlibResNetRecogniser

        return DlibResNetRecogniser(card)
    if card.architecture == "fusion":
        from faceatlas.embed.fusion import FusedRecogniser
        from faceatlas.models.registry import get_card

        members = [create_recogniser(get_card(member), threads, flip) for member in card.members]
        return FusedRecogniser(card.id, members, card.score_weights or [1.0] * len(members))
    raise ValueError(f"model '{card.id}' has architecture '{card.architecture}', which is not a recogniser")
