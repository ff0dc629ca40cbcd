"""Which model cards the pipeline can run: the adapters registered for each task."""

from __future__ import annotations

from faceatlas.detect import DETECTORS
from faceatlas.embed import RECOGNISERS
from faceatlas.models.card import ModelCard


def runs(card: ModelCard) -> bool:
    """Whether the card's architecture is registered as a detector or a recogniser (`DETECTORS`, `RECOGNISERS`)
    for its task. Landmark and attribute models run in the heads that name their bundled cards."""
    registry = {"detect": DETECTORS, "recognise": RECOGNISERS}.get(card.task)
    return registry is not None and card.architecture in registry
