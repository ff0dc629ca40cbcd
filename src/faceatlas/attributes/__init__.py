"""Attribute heads: each takes a batch of faces and adds named columns to `Faces.attributes` (age and gender,
expression, the quality score from `faceatlas.quality`, and the face mesh with head pose and eyes). Heads are found
through `ATTRIBUTE_HEADS` by name."""

from __future__ import annotations

from faceatlas.attributes.base import AttributeHead
from faceatlas.registries import Registry

ATTRIBUTE_HEADS: Registry = Registry("attribute head", "faceatlas.attribute_heads")
"""Name -> head class, constructed as `cls(threads=...)`."""
ATTRIBUTE_HEADS.declare("age_gender", "faceatlas.attributes.age_gender:AgeGenderHead")
ATTRIBUTE_HEADS.declare("expression", "faceatlas.attributes.expression:ExpressionHead")
ATTRIBUTE_HEADS.declare("quality", "faceatlas.quality.head:QualityHead")
ATTRIBUTE_HEADS.declare("mesh", "faceatlas.attributes.mesh:MeshHead")
ATTRIBUTE_HEADS.declare("landmarks106", "faceatlas.attributes.landmarks106:Landmarks106Head")  # research pack
# the networks alone, as the heads above are measured against (`faceatlas eval attributes` runs them beside)
ATTRIBUTE_HEADS.declare("age_gender_network", "faceatlas.attributes.age_gender:AgeGenderNetworkHead")
ATTRIBUTE_HEADS.declare("expression_network", "faceatlas.attributes.expression:ExpressionNetworkHead")

HEADS = ("age_gender", "expression", "quality", "mesh")
"""The built-in heads, in the order `analyze --attributes` runs them."""

NETWORK_ALONE = {"age_gender": "age_gender_network", "expression": "expression_network"}
"""Heads that do more than run their network once on the face, and the head that does only that."""


def create_head(name: str, threads: int = 0) -> AttributeHead:
    """The head registered as `name`."""
    return ATTRIBUTE_HEADS.get(name)(threads=threads)


__all__ = ["ATTRIBUTE_HEADS", "HEADS", "NETWORK_ALONE", "AttributeHead", "create_head"]
