"""Model registry (one `ModelCard` per model), the offline weight store, and ONNX Runtime sessions."""

from faceatlas.models.card import Calibration, ModelCard
from faceatlas.models.registry import get_card, list_cards, register_card

__all__ = ["Calibration", "ModelCard", "get_card", "list_cards", "register_card"]
