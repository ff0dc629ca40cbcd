"""Recognisers: turn aligned faces into L2-normalised identity embeddings."""

from faceatlas.embed.base import Recogniser, create_recogniser

__all__ = ["Recogniser", "create_recogniser"]
