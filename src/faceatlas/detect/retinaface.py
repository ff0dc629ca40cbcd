"""RetinaFace-MobileNet0.25 (biubug6/Pytorch_Retinaface, ONNX): anchor-based detector with five landmarks.

The network regresses offsets from fixed square priors: at strides 8/16/32 each feature-map cell holds two priors
(sizes 16/32, 64/128, 256/512 pixels) centred on the cell. A box is decoded as
`centre = prior_centre + d_xy * v0 * prior_size`, `size = prior_size * exp(d_wh * v1)` with variances (v0, v1), and
each landmark as `prior_centre + d * v0 * prior_size`. Anchors and variances come from the card's `output_spec`.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from faceatlas.detect.postprocess import build_faces, scale_to_fit
from faceatlas.models.card import ModelCard
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import resolve
from faceatlas.types import Faces

DEFAULT_MEAN = (104.0, 117.0, 123.0)  # BGR means subtracted in biubug6 training and inference
DEFAULT_STRIDES = (8, 16, 32)
DEFAULT_SIZES = ((16, 32), (64, 128), (256, 512))
DEFAULT_VARIANCE = (0.1, 0.2)


@lru_cache(maxsize=16)
def _priors(width: int, height: int, strides: tuple[int, ...], sizes: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """(P, 3) priors `cx, cy, size` in input pixels, ordered stride by stride, row-major, sizes innermost."""
    chunks = []
    for stride, anchor_sizes in zip(strides, sizes, strict=True):
        cols, rows = -(-width // stride), -(-height // stride)
        ys, xs = np.meshgrid(np.arange(rows, dtype=np.float32), np.arange(cols, dtype=np.float32), indexing="ij")
        centres = (np.column_stack([xs.ravel(), ys.ravel()]) + 0.5) * stride
        n = len(anchor_sizes)
        chunks.append(np.column_stack([np.repeat(centres, n, axis=0),
                                       np.tile(np.asarray(anchor_sizes, np.float32), rows * cols)]))
    priors = np.concatenate(chunks).astype(np.float32)
    priors.setflags(write=False)
    return priors


class RetinaFaceDetector:
    """RetinaFace on a BGR image resized so its long side is `input_size`, minus the card's BGR mean.

    The graph accepts any H/W (its FPN upsamples to the skip connection's size), so the image is not padded; the
    priors are laid out on `ceil(size / stride)` grids, which is what the network produces.
    """

    def __init__(self, card: ModelCard, threads: int = 0, input_size: int = 640,
                 score_threshold: float = 0.6, nms_iou: float = 0.4, max_faces: int | None = None) -> None:
        self.model_id = card.id
        self._card = card
        self._threads = threads
        self.input_size = input_size
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_faces = max_faces
        spec, out = card.input_spec, card.output_spec
        self._mean = np.asarray(spec.get("mean", DEFAULT_MEAN), np.float32)
        anchors = out.get("anchors", {})
        assert isinstance(anchors, dict)
        self._strides = tuple(int(s) for s in anchors.get("strides", DEFAULT_STRIDES))
        self._sizes = tuple(tuple(int(s) for s in group) for group in anchors.get("sizes", DEFAULT_SIZES))
        variance = out.get("variance", DEFAULT_VARIANCE)
        assert isinstance(variance, list | tuple)
        self._v_centre, self._v_size = (float(v) for v in variance)

    def detect(self, bgr: np.ndarray) -> Faces:
        height, width = bgr.shape[:2]
        scale = scale_to_fit(width, height, self.input_size)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        blob = (resized.astype(np.float32) - self._mean).transpose(2, 0, 1)[None]
        session = onnx_session(resolve(self._card), self._threads)
        loc, conf, landmarks = session.run(["loc", "conf", "landmarks"], {"input": np.ascontiguousarray(blob)})
        boxes, scores, points = self._decode(loc[0], conf[0, :, 1], landmarks[0], size[0], size[1])
        # Scale each axis by its own factor: rounding the resized size makes x and y factors differ slightly.
        sx, sy = size[0] / width, size[1] / height
        boxes /= np.array([sx, sy, sx, sy], np.float32)
        points /= np.array([sx, sy], np.float32)
        return build_faces(boxes, scores, points, (width, height), self.model_id, self.nms_iou, self.max_faces)

    def _decode(self, loc: np.ndarray, scores: np.ndarray, landmarks: np.ndarray, width: int, height: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        priors = _priors(width, height, self._strides, self._sizes)
        if len(priors) != len(scores):
            raise RuntimeError(f"model '{self.model_id}' gave {len(scores)} predictions for {len(priors)} priors "
                               f"at input {width}x{height}; the card's anchors do not match the network")
        keep = np.nonzero(scores >= self.score_threshold)[0]
        centre, prior_size = priors[keep, None, :2], priors[keep, None, 2:]
        loc = loc[keep]
        box_centre = centre[:, 0] + loc[:, :2] * self._v_centre * prior_size[:, 0]
        box_size = prior_size[:, 0] * np.exp(loc[:, 2:] * self._v_size)
        boxes = np.concatenate([box_centre - box_size / 2, box_centre + box_size / 2], axis=1)
        points = centre + landmarks[keep].reshape(-1, 5, 2) * self._v_centre * prior_size
        return boxes.astype(np.float32), scores[keep].astype(np.float32), points.astype(np.float32)
