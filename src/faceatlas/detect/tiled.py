"""Tiling for small faces in large images: the whole (downscaled) image plus overlapping native-resolution tiles."""

from __future__ import annotations

import numpy as np

from faceatlas.detect.base import Detector
from faceatlas.detect.postprocess import build_faces
from faceatlas.types import Faces

EDGE_MARGIN = 2.0
"""A tile detection whose box comes this close (pixels) to a tile edge inside the image is a cut face: dropped."""


def tile_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Start offsets of the fewest `tile`-pixel tiles that cover `length` with consecutive tiles sharing at least
    `overlap` of a tile, spread evenly from one border to the other."""
    if length <= tile:
        return [0]
    step = tile * (1 - overlap)
    count = int(np.ceil((length - tile) / step)) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


class TiledDetector:
    """A whole-image pass plus a pass over overlapping `tile`-pixel tiles, merged with the inner detector's NMS.

    `inner` runs on the whole image, which it scales to its own `input_size` (for a large photo: downscaled, so small
    faces vanish; large faces are found here). `tiles` (default: `inner`) runs on each tile, which it scales to its
    own `input_size`: give it `input_size == tile` to see every tile at native resolution. An image no larger than
    a tile is one tile, i.e. the whole image at the tile detector's size; that pass is skipped when it would repeat
    the whole-image pass (same detector, or one that does not run at a larger size).

    Faces smaller than `overlap * tile` pixels are whole in at least one tile, and a tile detection cut by a tile edge
    inside the image is dropped rather than merged: larger faces are left to the whole-image pass. An image no
    longer than `whole_up_to` pixels gets the whole-image pass only (it finds every face asked for there).
    """

    def __init__(self, inner: Detector, tile: int = 640, overlap: float = 0.25, tiles: Detector | None = None,
                 whole_up_to: int = 0) -> None:
        if tile < 32:
            raise ValueError(f"tile must be at least 32 pixels, got {tile}")
        if not 0 <= overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {overlap}")
        self.inner = inner
        self.tiles = inner if tiles is None else tiles
        self.model_id = inner.model_id
        self.tile = tile
        self.overlap = overlap
        self.whole_up_to = whole_up_to  # an image no longer than this (pixels) gets the whole-image pass only

    @property
    def score_threshold(self) -> float | None:
        return getattr(self.inner, "score_threshold", None)

    def _tile_pass_repeats_whole(self, width: int, height: int) -> bool:
        if max(width, height) <= self.whole_up_to:
            return True
        if max(width, height) > self.tile:
            return False
        if self.tiles is self.inner:
            return True
        return getattr(self.tiles, "input_size", 0) <= getattr(self.inner, "input_size", 0)

    def detect(self, bgr: np.ndarray) -> Faces:
        height, width = bgr.shape[:2]
        whole = self.inner.detect(bgr)
        if self._tile_pass_repeats_whole(width, height):
            whole.meta["tiles"] = 0
            return whole
        boxes, scores, landmarks = [whole.boxes], [whole.scores], [whole.landmarks5]
        xs = tile_starts(width, self.tile, self.overlap)
        ys = tile_starts(height, self.tile, self.overlap)
        for y0 in ys:
            for x0 in xs:
                crop = bgr[y0 : y0 + self.tile, x0 : x0 + self.tile]
                found = self.tiles.detect(crop)
                if len(found) == 0:
                    continue
                b = found.boxes
                x1, y1 = x0 + crop.shape[1], y0 + crop.shape[0]
                cut = ((x0 > 0) & (b[:, 0] <= EDGE_MARGIN)) | ((y0 > 0) & (b[:, 1] <= EDGE_MARGIN)) \
                    | ((x1 < width) & (b[:, 2] >= crop.shape[1] - EDGE_MARGIN)) \
                    | ((y1 < height) & (b[:, 3] >= crop.shape[0] - EDGE_MARGIN))
                offset = np.array([x0, y0], np.float32)
                boxes.append(b[~cut] + np.tile(offset, 2))
                scores.append(found.scores[~cut])
                landmarks.append(found.landmarks5[~cut] + offset)
        faces = build_faces(np.concatenate(boxes), np.concatenate(scores), np.concatenate(landmarks),
                            (width, height), self.model_id, float(getattr(self.inner, "nms_iou", 0.3)),
                            getattr(self.inner, "max_faces", None))
        faces.meta["tiles"] = len(xs) * len(ys)
        return faces
