import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from faceatlas.models.runtime import expand_prelu, onnx_session


def test_prelu_rewrite_gives_identical_numbers(tmp_path):
    slope = np.array([0.1, -0.5, 2.0], np.float32).reshape(3, 1, 1)
    graph = helper.make_graph(
        [helper.make_node("PRelu", ["x", "slope"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4, 4])],
        [numpy_helper.from_array(slope, "slope")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    rewritten = expand_prelu(onnx.ModelProto.FromString(model.SerializeToString()))
    assert "PRelu" not in {n.op_type for n in rewritten.graph.node}
    onnx.checker.check_model(rewritten)
    path = tmp_path / "prelu.onnx"
    onnx.save(model, str(path))
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4)).astype(np.float32)
    expected = np.where(x >= 0, x, slope * x)
    np.testing.assert_array_equal(onnx_session(path).run(None, {"x": x})[0], expected)


def test_sface_runs_the_same_in_openvino_opencv_dnn_and_onnx_runtime():
    from faceatlas.embed.onnx_arcface import OnnxArcFaceRecogniser
    from faceatlas.models import get_card

    card = get_card("sface-2021dec-int8bq")
    assert card.runtime == "openvino"
    crops = np.random.default_rng(1).integers(0, 256, (3, 112, 112, 3), dtype=np.uint8)
    embedded = {runtime: OnnxArcFaceRecogniser(card.model_copy(update={"runtime": runtime}), threads=1,
                                               flip=True).embed_crops(crops)
                for runtime in ("openvino", "opencv-dnn", "onnxruntime")}
    assert embedded["openvino"].shape == (3, 128)
    for other in ("opencv-dnn", "onnxruntime"):
        np.testing.assert_allclose(np.sum(embedded["openvino"] * embedded[other], axis=1), 1.0, atol=1e-5)


def test_blockwise_quantised_weights_are_expanded_to_the_numbers_onnx_runtime_computes():
    from faceatlas.models import get_card
    from faceatlas.models.runtime import dequantized_constants, onnx_session
    from faceatlas.models.store import resolve

    path = resolve(get_card("sface-2021dec-int8bq"))
    folded = dequantized_constants(onnx.load(str(path)))
    assert not [node for node in folded.graph.node if node.op_type == "DequantizeLinear"]
    x = np.random.default_rng(2).uniform(0, 255, (2, 3, 112, 112)).astype(np.float32)
    reference = onnx_session(path).run(None, {"data": x})[0]
    expanded = ort.InferenceSession(folded.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(expanded.run(None, {"data": x})[0], reference, rtol=1e-4, atol=1e-4)
