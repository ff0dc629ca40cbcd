"""YuNet (OpenCV Zoo 2023mar): anchor-free detector with five landmarks, run directly in ONNX Runtime."""

from __future__ import annotations

import numpy as np

from faceatlas.detect.postprocess import build_faces, padded_input
from faceatlas.models.card import ModelCard
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import resolve
from faceatlas.types import Faces

STRIDES = (8, 16, 32)


class YuNetDetector:
    """YuNet on a BGR image resized so its long side is `input_size`, zero-padded to a multiple of 32."""

    def __init__(self, card: ModelCard, threads: int = 0, input_size: int = 640,
                 score_threshold: float = 0.6, nms_iou: float = 0.3, max_faces: int | None = None) -> None:
        self.model_id = card.id
        self._card = card
        self._threads = threads
        self.input_size = input_size
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_faces = max_faces

    def detect(self, bgr: np.ndarray) -> Faces:
        blob, scale = padded_input(bgr, self.input_size, lambda resized: resized.astype(np.float32))
        padded_h, padded_w = blob.shape[2:]
        session = onnx_session(resolve(self._card), self._threads)
        names = [o.name for o in session.get_outputs()]
        outputs = dict(zip(names, session.run(None, {session.get_inputs()[0].name: blob}), strict=True))
        boxes, scores, landmarks = self._decode(outputs, padded_w, padded_h)
        return build_faces(boxes / scale, scores, landmarks / scale, (bgr.shape[1], bgr.shape[0]), self.model_id,
                           self.nms_iou, self.max_faces)

    def _decode(self, outputs: dict[str, np.ndarray], width: int, height: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        all_boxes, all_scores, all_landmarks = [], [], []
        for stride in STRIDES:
            cols = width // stride
            cls = outputs[f"cls_{stride}"][0, :, 0]
            obj = outputs[f"obj_{stride}"][0, :, 0]
            scores = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            keep = np.nonzero(scores >= self.score_threshold)[0]
            if keep.size == 0:
                continue
            grid = np.column_stack([keep % cols, keep // cols]).astype(np.float32)
            bbox = outputs[f"bbox_{stride}"][0, keep]
            kps = outputs[f"kps_{stride}"][0, keep].reshape(-1, 5, 2)
            centre = (grid + bbox[:, :2]) * stride
            size = np.exp(bbox[:, 2:]) * stride
            all_boxes.append(np.column_stack([centre - size / 2, centre + size / 2]))
            all_landmarks.append((kps + grid[:, None, :]) * stride)
            all_scores.append(scores[keep])
        if not all_scores:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32)
        return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_landmarks)
