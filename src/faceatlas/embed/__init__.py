"""Recognisers: turn aligned faces into L2-normalised identity embeddings. Implementations are found through
`RECOGNISERS` by the `architecture` their model card names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faceatlas.embed.base import Recogniser
from faceatlas.registries import Registry

if TYPE_CHECKING:
    from faceatlas.models.card import ModelCard

RECOGNISERS: Registry = Registry("recogniser architecture", "faceatlas.recognisers")
"""Architecture -> recogniser class, constructed as `cls(card, threads=..., flip=...)`."""
RECOGNISERS.declare("sface", "faceatlas.embed.onnx_arcface:OnnxArcFaceRecogniser")
RECOGNISERS.declare("arcface", "faceatlas.embed.onnx_arcface:OnnxArcFaceRecogniser")
RECOGNISERS.declare("dlib_resnet", "faceatlas.embed.dlib_resnet:DlibResNetRecogniser")
RECOGNISERS.declare("fusion", "faceatlas.embed.fusion:FusedRecogniser")


def create_recogniser(card: ModelCard, threads: int = 0, flip: bool = False) -> Recogniser:
    """The recogniser a card names (its `architecture`, looked up in `RECOGNISERS`); `flip` adds mirrored-crop
    test-time augmentation where the implementation supports it."""
    if card.architecture not in RECOGNISERS:
        raise ValueError(f"model '{card.id}' has architecture '{card.architecture}', which is not a recogniser "
                         f"(known: {', '.join(RECOGNISERS.names())})")
    return RECOGNISERS.get(card.architecture)(card, threads=threads, flip=flip)


__all__ = ["RECOGNISERS", "Recogniser", "create_recogniser"]
