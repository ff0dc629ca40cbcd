"""A reference head-pose estimator to compare against: FSA-Net ONNX files (Yang et al. 2019), user-supplied.

Pre-processing follows the FSA-Net demos: the detector's box enlarged by 0.6 of its size on every side (clipped to
the image), resized to 64x64, BGR, (x - 127.5) / 128; several files (the 1x1 and var variants) are averaged.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceatlas.config import get_settings
from faceatlas.models.runtime import onnx_session

MARGIN = 0.6
SIZE = 64


class FsaNetReference:
    def __init__(self, paths: list[Path], threads: int | None = None) -> None:
        missing = [str(p) for p in paths if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"reference pose model(s) not found: {', '.join(missing)}")
        threads = get_settings().threads if threads is None else threads
        self._sessions = [onnx_session(Path(p), threads) for p in paths]

    def predict(self, bgr: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(3,) yaw, pitch, roll in degrees for the face in `box` (x1, y1, x2, y2)."""
        x1, y1, x2, y2 = (float(v) for v in box)
        width, height = x2 - x1, y2 - y1
        h, w = bgr.shape[:2]
        left, top = int(max(x1 - MARGIN * width, 0)), int(max(y1 - MARGIN * height, 0))
        right, bottom = int(min(x2 + MARGIN * width, w)), int(min(y2 + MARGIN * height, h))
        crop = cv2.resize(bgr[top:bottom, left:right], (SIZE, SIZE))
        blob = ((crop.astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]
        return np.mean([s.run(None, {s.get_inputs()[0].name: blob})[0][0] for s in self._sessions], axis=0)
