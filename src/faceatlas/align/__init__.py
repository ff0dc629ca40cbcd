"""Alignment: warp faces to a canonical template from their five landmarks."""

from faceatlas.align.similarity import ARCFACE_TEMPLATE_112, align_faces, similarity_transforms

__all__ = ["ARCFACE_TEMPLATE_112", "align_faces", "similarity_transforms"]
