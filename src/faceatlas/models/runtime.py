"""The engines that run model files on the CPU — ONNX Runtime sessions, OpenCV DNN networks, OpenVINO compiled
models and LiteRT interpreters — created lazily on first use and cached per process."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


@lru_cache(maxsize=32)
def onnx_session(path: Path, threads: int = 0) -> ort.InferenceSession:
    """A cached CPU session for a weight file; `threads=0` lets ONNX Runtime choose."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Fold quantise/dequantise pairs into float kernels: about 3x faster for the int8bq YuNet and SFace files.
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    # Idle threads sleep instead of spinning: spinning threads starve other processes (and workers) on a laptop.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    model = onnx.load(str(path))
    if any(node.op_type == "PRelu" for node in model.graph.node):
        model = expand_prelu(model)
    return ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=32)
def opencv_net(path: Path) -> cv2.dnn.Net:
    """A cached OpenCV DNN network for an ONNX file (CPU). Its thread count is OpenCV's process-wide setting."""
    return cv2.dnn.readNetFromONNX(str(path))


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=16)
def openvino_model(path: Path, threads: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """A cached OpenVINO CPU model for an ONNX file, as a function from an input batch to the first output. Weights
    stored quantised (DequantizeLinear of constants, blockwise too) are expanded to float32 first, and inference
    runs in float32 (OpenVINO would choose bfloat16 on CPUs with AMX): the same numbers as ONNX Runtime and OpenCV
    DNN to 1e-6, in about half OpenCV's time for SFace."""
    import openvino

    core = openvino.Core()
    model = core.read_model(dequantized_constants(onnx.load(str(path))).SerializeToString())
    model.reshape({model.inputs[0]: [-1, *model.inputs[0].get_partial_shape()[1:]]})  # any batch size
    compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
                                                 "INFERENCE_PRECISION_HINT": "f32"})
    output, local = compiled.outputs[0], threading.local()

    def run(batch: np.ndarray) -> np.ndarray:
        if not hasattr(local, "request"):  # an infer request serves one thread: each thread gets its own
            local.request = compiled.create_infer_request()
        return local.request.infer({0: batch})[output].copy()

    return run


def dequantized_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with every DequantizeLinear of constant inputs (weights stored as int8, per tensor, per axis or per
    block) replaced by the float32 constant it computes."""
    constants = {tensor.name: tensor for tensor in model.graph.initializer}
    nodes, folded = [], []
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or not all(name in constants for name in node.input if name):
            nodes.append(node)
            continue
        x, scale, *rest = (numpy_helper.to_array(constants[name]).astype(np.float32) for name in node.input if name)
        zero = rest[0] if rest else np.zeros_like(scale)
        if scale.ndim:
            attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            axis, block = attributes.get("axis", 1) % x.ndim, attributes.get("block_size", 0)
            if block:  # one scale per `block` consecutive elements along the axis
                whole = tuple(slice(0, n) for n in x.shape)
                scale, zero = (np.repeat(v, block, axis=axis)[whole] for v in (scale, zero))
            else:
                shape = [-1 if i == axis else 1 for i in range(x.ndim)]
                scale, zero = scale.reshape(shape), zero.reshape(shape)
        folded.append(numpy_helper.from_array(((x - zero) * scale).astype(np.float32), node.output[0]))
    used = {name for node in nodes for name in node.input} | {output.name for output in model.graph.output}
    kept = [tensor for tensor in model.graph.initializer if tensor.name in used] + folded
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model


def expand_prelu(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite every `PRelu(x, slope)` as `Relu(x) + slope * Min(x, 0)`: the same numbers, but kernels ONNX Runtime
    fuses and vectorises (its PRelu kernel is a slow generic broadcast; about 30 % of SFace's time is saved)."""
    zero = "faceatlas_prelu_zero"
    nodes = []
    for index, node in enumerate(model.graph.node):
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        stem = f"faceatlas_prelu_{index}"
        nodes += [
            helper.make_node("Relu", [x], [f"{stem}_pos"]),
            helper.make_node("Min", [x, zero], [f"{stem}_neg"]),
            helper.make_node("Mul", [slope, f"{stem}_neg"], [f"{stem}_scaled"]),
            helper.make_node("Add", [f"{stem}_pos", f"{stem}_scaled"], list(node.output)),
        ]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), zero))
    return model


class LiteRTModel:
    """A `.tflite` file run by LiteRT (XNNPACK on the CPU). One interpreter is not safe to share between threads."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with _native_stderr_silenced():  # LiteRT's C++ logs an INFO line per interpreter that no setting turns off
            self._interpreter = Interpreter(model_path=str(path), num_threads=threads or None)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self.input_shape = tuple(int(d) for d in self._input["shape"])
        self._outputs = self._interpreter.get_output_details()

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Outputs (in the file's output order) for a batch of NHWC float32 inputs, one invoke per item."""
        results: list[list[np.ndarray]] = [[] for _ in self._outputs]
        for item in batch:
            self._interpreter.set_tensor(self._input["index"], item[None].astype(np.float32, copy=False))
            self._interpreter.invoke()
            for column, output in zip(results, self._outputs, strict=True):
                column.append(self._interpreter.get_tensor(output["index"])[0].copy())
        return [np.stack(column) if column else np.zeros((0,), np.float32) for column in results]


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while native code runs (Python-level errors still raise normally)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@lru_cache(maxsize=8)
def litert_model(path: Path, threads: int = 0) -> LiteRTModel:
    """A cached LiteRT interpreter for a `.tflite` file."""
    return LiteRTModel(path, threads)
