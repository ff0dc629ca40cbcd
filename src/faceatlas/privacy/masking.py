"""Hiding faces in pixels: each face's box enlarged (wider over the ears, up over the hairline and further down over
the chin) and clipped to the image, then covered by one of `MODES` at a strength that grows with the face, so a big
face is hidden as well as a small one. Pixels outside the enlarged boxes are never touched. OpenCV loads on first
use."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from faceatlas.types import Faces

ENLARGE = 1.5
"""How much wider each box is made (centred)."""

ABOVE, BELOW = 1.0, 1.6
"""The box grows upward, and downward, by these multiples of what it grows on each side: at the default 1.5, a
quarter of its width to each side, a quarter of its height above (the hairline) and 40 % below. Measured on the Face
Mask development photos (678 annotated faces the recall pipeline finds), detector boxes start above an annotated
face's top (by 18 % of their height, median) and stop short of its bottom (by 8 %, median; 29 % at the 90th
percentile): the chin, and a mask over it, lie below the box. The earlier shape (1.3 wide, growing twice as much up
as down) left 23 % of those faces less than 90 % covered; this one leaves 3.5 %. It covers 2.5 times the detector's
box."""

BLUR_SHARE = 0.4
"""The blur's box-filter side as a share of the covered region's longer side (applied three times: near-Gaussian)."""

PIXEL_BLOCKS = 5
"""How many blocks a pixelated region is across its longer side, whatever its size (blocks at least `MIN_BLOCK`)."""

MIN_BLOCK = 4
"""The smallest block (and blur) side in pixels: a face of a few pixels is hidden too."""

MASK_REACH = 1.15
"""The mask's ellipse axes as a share of the region's half sides: it reaches the face box's corners, while the
region's own corners (background at the default enlargement) stay as they were."""

SOLID_BGR = (0, 0, 0)


def _blur(region: np.ndarray) -> np.ndarray:
    import cv2

    side = max(MIN_BLOCK, int(max(region.shape[:2]) * BLUR_SHARE)) | 1
    for _ in range(3):  # a box filter costs the same at any size (running sums); three make it near-Gaussian
        region = cv2.blur(region, (side, side), borderType=cv2.BORDER_REPLICATE)
    return region


def _pixelate(region: np.ndarray) -> np.ndarray:
    import cv2

    height, width = region.shape[:2]
    block = max(MIN_BLOCK, max(height, width) / PIXEL_BLOCKS)
    small = cv2.resize(region, (max(1, round(width / block)), max(1, round(height / block))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def _solid(region: np.ndarray) -> np.ndarray:
    return np.full_like(region, SOLID_BGR)


def _mask(region: np.ndarray) -> np.ndarray:
    import cv2

    height, width = region.shape[:2]
    covered = region.copy()
    axes = (max(1, round(width / 2 * MASK_REACH)), max(1, round(height / 2 * MASK_REACH)))
    cv2.ellipse(covered, (width // 2, height // 2), axes, 0, 0, 360, SOLID_BGR, thickness=-1)
    return covered


MODES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "blur": _blur,
    "pixelate": _pixelate,
    "solid": _solid,
    "mask": _mask,  # a filled ellipse over the face, clipped to the enlarged box
}
"""Each mode: the covered copy of a face's region (BGR, any size)."""


def enlarged_boxes(faces: Faces, enlarge: float = ENLARGE) -> np.ndarray:
    """The boxes (xyxy, int, clipped to the image) that hide `faces`: `enlarge` times as wide, centred, and taller by
    `ABOVE` and `BELOW` times the growth of each side."""
    if enlarge < 1:
        raise ValueError(f"enlarge must be at least 1, not {enlarge}")
    boxes = faces.boxes.astype(np.float64).reshape(-1, 4)
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = (enlarge - 1) / 2
    grown = np.stack([boxes[:, 0] - width * side, boxes[:, 1] - height * side * ABOVE, boxes[:, 2] + width * side,
                      boxes[:, 3] + height * side * BELOW], axis=1)
    image_width, image_height = faces.image_size
    grown = np.stack([np.floor(grown[:, 0]), np.floor(grown[:, 1]), np.ceil(grown[:, 2]), np.ceil(grown[:, 3])], 1)
    return np.clip(grown, 0, [image_width, image_height, image_width, image_height]).astype(int)


def hide_faces(bgr: np.ndarray, faces: Faces, mode: str = "blur", enlarge: float = ENLARGE) -> np.ndarray:
    """A copy of `bgr` with every face of `faces` covered by `mode` (one of `MODES`) over its enlarged box."""
    if mode not in MODES:
        raise ValueError(f"unknown mode '{mode}' (known: {', '.join(MODES)})")
    cover = MODES[mode]
    hidden = bgr.copy()
    for x0, y0, x1, y1 in enlarged_boxes(faces, enlarge):
        if x1 > x0 and y1 > y0:
            hidden[y0:y1, x0:x1] = cover(np.ascontiguousarray(hidden[y0:y1, x0:x1]))
    return hidden
