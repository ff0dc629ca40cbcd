"""Recognisers that take a 112x112 ArcFace-aligned crop: SFace, and users' ArcFace-style ONNX models.

The card's `input_spec` declares colour order and normalisation: `color` ("RGB"/"BGR"), `mean` and `std`
(defaults 0 and 1, i.e. raw 0-255 pixels as SFace wants). The card's `runtime` picks the engine (`RUNNERS`):
ONNX Runtime, OpenCV's DNN module, or OpenVINO, which runs SFace in half OpenCV's time and ONNX Runtime's third on
the CPU, with the same numbers to 1e-6 (float32); where OpenVINO is not installed, OpenCV DNN stands in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import cv2
import numpy as np

from faceatlas.align import align_faces
from faceatlas.embed.base import l2_normalise
from faceatlas.models.card import ModelCard
from faceatlas.models.runtime import onnx_session, opencv_net, openvino_available, openvino_model
from faceatlas.models.store import resolve

Runner = Callable[[np.ndarray], np.ndarray]


def _onnxruntime(card: ModelCard, threads: int) -> Runner:
    session = onnx_session(resolve(card), threads)
    name, batch = session.get_inputs()[0].name, session.get_inputs()[0].shape[0]
    if batch == 1:  # a graph with a fixed batch of one
        return lambda blob: np.concatenate([session.run(None, {name: blob[i : i + 1]})[0] for i in range(len(blob))])
    return lambda blob: session.run(None, {name: blob})[0]


def _opencv_dnn(card: ModelCard, threads: int) -> Runner:
    net, lock = opencv_net(resolve(card)), threading.Lock()

    def run(blob: np.ndarray) -> np.ndarray:
        if threads > 0:
            cv2.setNumThreads(threads)  # OpenCV's setting is process-wide: set it for each run
        with lock:  # one network holds one input at a time
            net.setInput(blob)
            return net.forward()

    return run


def _openvino(card: ModelCard, threads: int) -> Runner:
    return openvino_model(resolve(card), threads) if openvino_available() else _opencv_dnn(card, threads)


RUNNERS: dict[str, Callable[[ModelCard, int], Runner]] = {"onnxruntime": _onnxruntime, "opencv-dnn": _opencv_dnn,
                                                          "openvino": _openvino}
"""Runtime (the card's `runtime`) -> what makes the function that runs a batch of crops."""


class OnnxArcFaceRecogniser:
    """Aligns to the ArcFace template and embeds a batch of crops in one run of the card's runtime."""

    def __init__(self, card: ModelCard, threads: int = 0, flip: bool = False) -> None:
        self.model_id = card.id
        self.flip = flip  # also embed the mirrored crop and add the two (test-time augmentation, 2x the compute)
        self.dim = int(card.embedding_dim or 0)
        size = card.input_spec.get("size", 112)
        self.crop_size = int(size[0] if isinstance(size, list | tuple) else size)  # type: ignore[arg-type]
        self._card = card
        self._threads = threads
        spec = card.input_spec
        self._rgb = str(spec.get("color", "RGB")).upper() == "RGB"
        self._mean = np.float32(spec.get("mean", 0.0))
        self._std = np.float32(spec.get("std", 1.0))
        self._runner: Runner | None = None

    def embed(self, bgr: np.ndarray, landmarks5: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        if len(landmarks5) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_crops(align_faces(bgr, landmarks5, self.crop_size))

    def embed_crops(self, crops_bgr: np.ndarray) -> np.ndarray:
        """Embeddings of BGR crops (N, crop_size, crop_size, 3) aligned to the ArcFace template."""
        return self.embed_crops_and_norms(crops_bgr)[0]

    def embed_crops_and_norms(self, crops_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`embed_crops`, and each crop's raw output norm before normalisation (of the crop, not its mirror): a
        recognisability signal, small for blurred, tiny, dark or covered faces (as MagFace's magnitude)."""
        count = len(crops_bgr)
        if self.flip:
            crops_bgr = np.concatenate([crops_bgr, crops_bgr[:, :, ::-1]])
        crops = crops_bgr[..., ::-1] if self._rgb else crops_bgr
        blob = (crops.transpose(0, 3, 1, 2).astype(np.float32) - self._mean) / self._std
        output = self._run(np.ascontiguousarray(blob))
        output = output.reshape(len(blob), -1)
        norms = np.linalg.norm(output[:count], axis=1).astype(np.float32)
        return l2_normalise(output[:count] + output[count:] if self.flip else output), norms

    def _run(self, blob: np.ndarray) -> np.ndarray:
        if self._runner is None:
            self._runner = RUNNERS[self._card.runtime](self._card, self._threads)
        return self._runner(blob)
