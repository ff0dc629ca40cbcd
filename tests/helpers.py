"""Shared test helpers: where the development data lives, and a skip marker when it is absent."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ASTRONAUT = Path(__import__("skimage").data.__file__).parent / "astronaut.png"


def data_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test with a clear reason when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"development data not available: {path} (see README, 'Development data')")
    return path


def write_video(path: Path, frames: int, fps: float = 10.0, codec: str = "mp4v") -> Path:
    """Frame i is a flat grey of level 6 i (readable back through compression)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 6 * i, np.uint8))
    writer.release()
    return path
