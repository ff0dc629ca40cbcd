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
DETECTORS.declare("scrfd", "faceatlas.detect.scrfd:ScrfdDetector")


SMALLEST_FOUND = 20
"""Face width in pixels, at the detector's input, from which YuNet finds faces reliably: of 100 LFW faces pasted
into noise, it found 96 at 15 px, 99 at 18 px and 100 at 22 px and above."""

MIN_FACE_TILE = 1280
"""With the option `min_face`, the detector's input size on each tile (the tile itself is cut larger and scaled)."""


def create_detector(card: ModelCard, threads: int = 0, **options: object) -> Detector:
    """The detector a card names (its `architecture`, looked up in `DETECTORS`).

    The option `tile` (pixels, 0 = off) makes a `TiledDetector`: the detector as configured on the whole image, plus
    the same detector at `input_size=tile` on overlapping `tile`-pixel tiles (native resolution; an image smaller
    than a tile is enlarged to one tile), consecutive tiles sharing `tile_overlap` (default 0.25) of a tile.

    The option `min_face` (pixels) finds faces that small in photos of any size, at the least cost: a photo small
    enough that the whole-image pass shows such a face at `SMALLEST_FOUND` pixels or more gets that pass only; a
    larger one also gets tiles cut at `MIN_FACE_TILE * min_face / SMALLEST_FOUND` pixels and scaled to
    `MIN_FACE_TILE` (40 px: 2560-pixel tiles at half resolution, only in photos longer than 1280 pixels)."""
    if card.architecture not in DETECTORS:
        raise ValueError(f"model '{card.id}' has architecture '{card.architecture}', which is not a detector "
                         f"(known: {', '.join(DETECTORS.names())})")
    implementation = DETECTORS.get(card.architecture)
    tile = int(options.pop("tile", 0))  # type: ignore[call-overload]
    overlap = float(options.pop("tile_overlap", 0.25))  # type: ignore[arg-type]
    min_face = int(options.pop("min_face", 0))  # type: ignore[call-overload]
    detector = implementation(card, threads=threads, **options)
    if not tile and not min_face:
        return detector
    from faceatlas.detect.tiled import TiledDetector

    if tile:
        tiles = implementation(card, threads=threads, **{**options, "input_size": tile})
        return TiledDetector(detector, tile=tile, overlap=overlap, tiles=tiles)
    # min_face: tiles scaled so a face of min_face pixels becomes SMALLEST_FOUND, only in photos where the whole
    # image at the detector's own size would make it smaller
    scale = SMALLEST_FOUND / min_face
    whole = int(getattr(detector, "input_size", MIN_FACE_TILE) / scale)
    tiles = implementation(card, threads=threads, **{**options, "input_size": MIN_FACE_TILE})
    return TiledDetector(detector, tile=round(MIN_FACE_TILE / scale), overlap=overlap, tiles=tiles, whole_up_to=whole)


__all__ = ["DETECTORS", "Detector", "create_detector"]
