"""Attribute heads: each takes a batch of faces and adds named columns to `Faces.attributes` (age and gender,
expression, the quality score from `faceatlas.quality`, and the face mesh with head pose and eyes)."""

from __future__ import annotations

from faceatlas.attributes.base import AttributeHead

HEADS = ("age_gender", "expression", "quality", "mesh")


def create_head(name: str, threads: int = 0) -> AttributeHead:
    if name == "age_gender":
        from faceatlas.attributes.age_gender import AgeGenderHead

        return AgeGenderHead(threads)
    if name == "expression":
        from faceatlas.attributes.expression import ExpressionHead

        return ExpressionHead(threads)
    if name == "quality":
        from faceatlas.quality.head import QualityHead

        return QualityHead(threads)
    if name == "mesh":
        from faceatlas.attributes.mesh import MeshHead

        return MeshHead(threads)
    raise ValueError(f"unknown attribute head '{name}' (known: {', '.join(HEADS)})")


__all__ = ["HEADS", "AttributeHead", "create_head"]
