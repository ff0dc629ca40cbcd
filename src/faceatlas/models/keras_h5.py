"""Rebuild a small Keras (HDF5) convolutional model as ONNX with h5py + onnx, no TensorFlow.

Covers the layers of the FER2013 mini-Xception: Conv2D, SeparableConv2D, BatchNormalization, Activation (relu,
softmax, linear), MaxPooling2D, Add, GlobalAveragePooling2D. The ONNX graph is NCHW (Keras is NHWC): kernels are
transposed, and TensorFlow's "same" padding (extra pixel at the end) is ONNX's SAME_UPPER.
"""

from __future__ import annotations

import io
import json

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class _Graph:
    def __init__(self, weights: h5py.Group) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def tensor(self, layer: str, name: str) -> np.ndarray:
        group = self.weights[layer]
        while name not in group:  # weights sit under layer/layer/name:0 in Keras 2 files
            group = group[next(iter(group))]
        return np.asarray(group[name], np.float32)

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: object) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output


def _padding(config: dict) -> dict:
    return {"auto_pad": "SAME_UPPER"} if config["padding"] == "same" else {"pads": [0, 0, 0, 0]}


def _layer(graph: _Graph, kind: str, name: str, config: dict, inputs: list[str]) -> str:
    x = inputs[0]
    if kind == "Conv2D":
        kernel = graph.tensor(name, "kernel:0").transpose(3, 2, 0, 1)
        args = [x, graph.constant(f"{name}.w", kernel)]
        if config["use_bias"]:
            args.append(graph.constant(f"{name}.b", graph.tensor(name, "bias:0")))
        out = graph.node("Conv", args, name, strides=config["strides"], **_padding(config))
    elif kind == "SeparableConv2D":
        depthwise = graph.tensor(name, "depthwise_kernel:0")  # (kh, kw, in, multiplier)
        channels = depthwise.shape[2] * depthwise.shape[3]
        depthwise = depthwise.reshape(depthwise.shape[0], depthwise.shape[1], channels, 1).transpose(2, 3, 0, 1)
        pointwise = graph.tensor(name, "pointwise_kernel:0").transpose(3, 2, 0, 1)
        mid = graph.node("Conv", [x, graph.constant(f"{name}.dw", depthwise)], f"{name}.depthwise",
                         group=channels, strides=config["strides"], **_padding(config))
        args = [mid, graph.constant(f"{name}.pw", pointwise)]
        if config["use_bias"]:
            args.append(graph.constant(f"{name}.b", graph.tensor(name, "bias:0")))
        out = graph.node("Conv", args, name)
    elif kind == "BatchNormalization":
        parts = [graph.constant(f"{name}.{p}", graph.tensor(name, f"{p}:0"))
                 for p in ("gamma", "beta", "moving_mean", "moving_variance")]
        out = graph.node("BatchNormalization", [x, *parts], name, epsilon=float(config["epsilon"]))
    elif kind == "Activation":
        op = {"relu": "Relu", "softmax": "Softmax", "linear": "Identity"}[config["activation"]]
        out = graph.node(op, [x], name, **({"axis": 1} if op == "Softmax" else {}))
    elif kind == "MaxPooling2D":
        out = graph.node("MaxPool", [x], name, kernel_shape=config["pool_size"], strides=config["strides"],
                         **_padding(config))
    elif kind == "Add":
        out = graph.node("Add", inputs, name)
    elif kind == "GlobalAveragePooling2D":
        pooled = graph.node("GlobalAveragePool", [x], f"{name}.pool")
        out = graph.node("Flatten", [pooled], name, axis=1)
    else:
        raise ValueError(f"Keras layer {kind} ({name}) is not supported")
    if kind in {"Conv2D", "SeparableConv2D"} and config.get("activation", "linear") != "linear":
        out = _layer(graph, "Activation", f"{name}.act", {"activation": config["activation"]}, [out])
    return out


def keras_h5_to_onnx(data: bytes) -> bytes:
    """The ONNX model (input `image`: N x C x H x W float32, output `probabilities`) of a functional Keras model."""
    with h5py.File(io.BytesIO(data), "r") as h5:
        config = json.loads(h5.attrs["model_config"])
        graph = _Graph(h5["model_weights"])
        outputs: dict[str, str] = {}
        layers = config["config"]["layers"]
        shape = None
        for layer in layers:
            kind, name = layer["class_name"], layer["name"]
            if kind == "InputLayer":
                _, height, width, channels = layer["config"]["batch_input_shape"]
                shape = ["N", channels, height, width]
                outputs[name] = "image"
                continue
            inbound = [outputs[source[0]] for source in layer["inbound_nodes"][0]]
            outputs[name] = _layer(graph, kind, name, layer["config"], inbound)
        last = outputs[config["config"]["output_layers"][0][0]]
        graph.nodes.append(helper.make_node("Identity", [last], ["probabilities"], name="probabilities"))
    if shape is None:
        raise ValueError("the Keras model has no InputLayer")
    onnx_graph = helper.make_graph(
        graph.nodes, "keras_h5", [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", None])], graph.initializers)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="faceatlas.keras_h5")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
