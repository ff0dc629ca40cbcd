"""Attribute heads: each takes a batch of faces and adds named columns to `Faces.attributes`."""

from __future__ import annotations

from faceatlas.attributes.base import AttributeHead

HEADS = ("age_gender", "expression")


def create_head(name: str, threads: int = 0) -> AttributeHead:
    if name == "age_gender":
        from faceatlas.attributes.age_gender import AgeGenderHead

        return AgeGenderHead(threads)
    if name == "expression":
        from faceatlas.attributes.expression import ExpressionHead

        return ExpressionHead(threads)
    raise ValueError(f"unknown attribute head '{name}' (known: {', '.join(HEADS)})")


__all__ = ["HEADS", "AttributeHead", "create_head"]
