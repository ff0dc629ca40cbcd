"""Face detectors: each finds boxes, scores and five landmarks and returns a `Faces`. Implementations are found
through `DETECTORS` by the `architecture` their model card names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faceatlas.detect.base import Detector
from faceatlas.registries import Registry

if TYPE_CHECKING:
    from faceatlas.models.card import ModelCard

DETECTORS: Registry = Registry("detector architecture", "faceatlas.detectors")
"""Architecture -> detector class, constructed as `cls(card, threads=..., **options)`."""
DETECTORS.declare("yunet", "faceatlas.detect.yunet:YuNetDetector")
DETECTORS.declare("retinaface", "faceatlas.detect.retinaface:RetinaFaceDetector")


def create_detector(card: ModelCard, threads: int = 0, **options: object) -> Detector:
    """The detector a card names (its `architecture`, looked up in `DETECTORS`).

    The option `tile` (pixels, 0 = off) makes a `TiledDetector`: the detector as configured on the whole image, plus
    the same detector at `input_size=tile` on overlapping `tile`-pixel tiles (native resolution; an image smaller
    than a tile is enlarged to one tile), consecutive tiles sharing `tile_overlap` (default 0.25) of a tile."""
    if card.architecture not in DETECTORS:
        raise ValueError(f"model '{card.id}' has architecture '{card.architecture}', which is not a detector "
                         f"(known: {', '.join(DETECTORS.names())})")
    implementation = DETECTORS.get(card.architecture)
    tile = int(options.pop("tile", 0))  # type: ignore[call-overload]
    overlap = float(options.pop("tile_overlap", 0.25))  # type: ignore[arg-type]
    detector = implementation(card, threads=threads, **options)
    if not tile:
        return detector
    from faceatlas.detect.tiled import TiledDetector

    tiles = implementation(card, threads=threads, **{**options, "input_size": tile})
    return TiledDetector(detector, tile=tile, overlap=overlap, tiles=tiles)


__all__ = ["DETECTORS", "Detector", "create_detector"]
