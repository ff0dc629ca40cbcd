"""SCRFD (InsightFace): anchor-point detector with five landmarks, run in ONNX Runtime.

At strides 8/16/32 each feature-map cell holds `anchors_per_cell` anchor points at the cell's corner
`(col * stride, row * stride)`. Scores come out already squashed to 0-1; a box is the four distances
`(left, top, right, bottom) * stride` from its anchor point, and each landmark an offset `* stride` from it. The
graph's outputs are named `score_S`, `bbox_S`, `kps_S` per stride (or come in that order, scores first). A graph
with a fixed input size (the card's `input_spec.size`) gets the image letterboxed into it; a dynamic one gets it
padded to a multiple of 32.
"""

from __future__ import annotations

import numpy as np

from faceatlas.detect.postprocess import build_faces, padded_input
from faceatlas.models.card import ModelCard
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import resolve
from faceatlas.types import Faces

STRIDES = (8, 16, 32)
POSITIONAL = tuple(f"{kind}_{stride}" for kind in ("score", "bbox", "kps") for stride in STRIDES)
"""InsightFace's output order, for exports whose outputs are numbered rather than named (its own `scrfd.py` relies
on this order)."""


class ScrfdDetector:
    """SCRFD on a BGR image resized so its long side is `input_size`, as RGB `(x - mean) / std`."""

    def __init__(self, card: ModelCard, threads: int = 0, input_size: int = 640,
                 score_threshold: float = 0.5, nms_iou: float = 0.4, max_faces: int | None = None) -> None:
        self.model_id = card.id
        self._card = card
        self._threads = threads
        spec = card.input_spec
        fixed = spec.get("size")
        self._fixed = tuple(int(s) for s in fixed) if isinstance(fixed, list | tuple) else None
        self.input_size = max(self._fixed) if self._fixed else input_size
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_faces = max_faces
        self._mean = np.float32(spec.get("mean", 127.5))
        self._std = np.float32(spec.get("std", 128.0))
        self._per_cell = int(card.output_spec.get("anchors_per_cell", 2))  # type: ignore[call-overload]

    def detect(self, bgr: np.ndarray) -> Faces:
        blob, scale = padded_input(bgr, self.input_size, self._pixels, self._fixed)
        padded_h, padded_w = blob.shape[2:]
        session = onnx_session(resolve(self._card), self._threads)
        names = [o.name for o in session.get_outputs()]
        if "score_8" not in names and len(names) == len(POSITIONAL):  # an export with numbered outputs
            names = list(POSITIONAL)
        outputs = dict(zip(names, session.run(None, {session.get_inputs()[0].name: blob}), strict=True))
        boxes, scores, landmarks = self._decode(outputs, padded_w, padded_h)
        return build_faces(boxes / scale, scores, landmarks / scale, (bgr.shape[1], bgr.shape[0]), self.model_id,
                           self.nms_iou, self.max_faces)

    def _pixels(self, resized: np.ndarray) -> np.ndarray:
        return (resized[:, :, ::-1].astype(np.float32) - self._mean) / self._std

    def _decode(self, outputs: dict[str, np.ndarray], width: int, height: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        all_boxes, all_scores, all_landmarks = [np.zeros((0, 4), np.float32)], [np.zeros(0, np.float32)], [
            np.zeros((0, 5, 2), np.float32)]
        for stride in STRIDES:
            cols = width // stride
            scores = outputs[f"score_{stride}"].reshape(-1)
            keep = np.nonzero(scores >= self.score_threshold)[0]
            if keep.size == 0:
                continue
            cell = keep // self._per_cell
            anchor = (np.column_stack([cell % cols, cell // cols]) * stride).astype(np.float32)
            distance = outputs[f"bbox_{stride}"].reshape(-1, 4)[keep] * stride
            offsets = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[keep] * stride
            all_boxes.append(np.concatenate([anchor - distance[:, :2], anchor + distance[:, 2:]], axis=1))
            all_scores.append(scores[keep])
            all_landmarks.append(anchor[:, None, :] + offsets)
        return (np.concatenate(all_boxes).astype(np.float32), np.concatenate(all_scores).astype(np.float32),
                np.concatenate(all_landmarks).astype(np.float32))
