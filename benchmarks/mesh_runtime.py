"""Which engine runs the MediaPipe FaceMesh and Iris `.tflite` files fastest: LiteRT (what FaceAtlas uses) against
ONNX Runtime and OpenCV DNN on a tflite2onnx conversion of the same file, one crop per call, interleaved.

    .venv/bin/pip install tflite2onnx==0.4.1 tflite==2.18.0   # only for this comparison
    .venv/bin/python benchmarks/mesh_runtime.py [--threads 1 2] [--repeats 300]

Prints one JSON document: median milliseconds per call and the largest output difference from LiteRT. Without
tflite2onnx only LiteRT is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from faceatlas.mesh.model import IRIS_MODEL, MESH_MODEL
from faceatlas.models.registry import get_card
from faceatlas.models.runtime import LiteRTModel, onnx_session, opencv_net
from faceatlas.models.store import resolve


def median_ms(job, repeats: int) -> float:
    for _ in range(20):
        job()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        samples.append(time.perf_counter() - start)
    return round(float(np.median(samples)) * 1000, 3)


def measure(model_id: str, threads: int, repeats: int, workdir: Path) -> dict:
    path = resolve(get_card(model_id))
    litert = LiteRTModel(path, threads)
    batch = np.random.default_rng(0).random(litert.input_shape, dtype=np.float32)
    row: dict = {"model": model_id, "threads": threads, "litert_ms": median_ms(lambda: litert.run(batch), repeats)}
    try:
        import tflite2onnx
    except ImportError:
        row["onnx"] = "tflite2onnx not installed"
        return row
    converted = workdir / f"{model_id}.onnx"
    tflite2onnx.convert(str(path), str(converted))
    session = onnx_session(converted, threads)
    name = session.get_inputs()[0].name
    nchw = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    reference = sorted((o.ravel() for o in litert.run(batch)), key=len)
    outputs = sorted((o.ravel() for o in session.run(None, {name: nchw})), key=len)
    row["onnxruntime_ms"] = median_ms(lambda: session.run(None, {name: nchw}), repeats)
    cv2.setNumThreads(threads)
    net = opencv_net(converted)

    def opencv() -> None:
        net.setInput(nchw)
        net.forward(net.getUnconnectedOutLayersNames())

    row["opencv_dnn_ms"] = median_ms(opencv, repeats)
    row["max_abs_difference"] = float(max(np.abs(a - b).max() for a, b in zip(reference, outputs, strict=True)))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        rows = [measure(m, t, args.repeats, Path(workdir)) for m in (MESH_MODEL, IRIS_MODEL) for t in args.threads]
    print(json.dumps({"benchmark": "mesh_runtime", "machine": platform.platform(), "cpus": os.cpu_count(),
                      "loadavg": os.getloadavg(), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
