"""Degraded copies of development photos: the faces a quality gate should refuse, made reproducibly from clean ones
(heavy blur, a very small face, an occluder over the eyes, a dark noisy exposure, a tiny heavily compressed JPEG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceatlas.io.image import load_image

DEGRADATIONS = ("blur", "small", "occluded", "dark", "jpeg")


def degrade(bgr: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One degraded copy of a BGR photo whose face fills its middle (an LFW photo), by `kind` (`DEGRADATIONS`)."""
    height, width = bgr.shape[:2]
    if kind == "blur":
        return cv2.GaussianBlur(bgr, (0, 0), 3.0)
    if kind == "small":  # a face of about 12 pixels between the eyes' outer corners
        return cv2.resize(bgr, (width // 5, height // 5), interpolation=cv2.INTER_AREA)
    if kind == "occluded":  # a bar over both eyes
        covered = bgr.copy()
        covered[int(height * 0.30):int(height * 0.50), int(width * 0.2):int(width * 0.8)] = 0
        return covered
    if kind == "dark":
        noisy = bgr.astype(np.float32) * 0.15 + rng.normal(0, 6, bgr.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8)
    if kind == "jpeg":
        small = cv2.resize(bgr, (width // 3, height // 3), interpolation=cv2.INTER_AREA)
        return cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 8])[1], cv2.IMREAD_COLOR)
    raise ValueError(f"unknown degradation '{kind}' (known: {', '.join(DEGRADATIONS)})")


@dataclass
class DegradedSet:
    """Photos and degraded copies of them, in order: each picture, the photo it was made from, and its kind."""

    images: list[np.ndarray]
    photos: list[str]
    kinds: list[str]  # "clean" or one of `DEGRADATIONS`


def with_degraded_copies(paths: list[Path], every_kind: bool, seed: int = 0) -> DegradedSet:
    """Each photo, followed by its degraded copies: one of each kind, or (`every_kind` False) one of a kind drawn at
    random (seeded)."""
    rng = np.random.default_rng(seed)
    made = DegradedSet([], [], [])
    for path in paths:
        bgr = load_image(path).bgr  # an unreadable photo is its ImageDecodeError
        chosen = DEGRADATIONS if every_kind else (DEGRADATIONS[int(rng.integers(len(DEGRADATIONS)))],)
        for kind in ("clean", *chosen):
            made.images.append(bgr if kind == "clean" else degrade(bgr, kind, rng))
            made.photos.append(str(path))
            made.kinds.append(kind)
    return made
