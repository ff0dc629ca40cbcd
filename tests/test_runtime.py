import numpy as np
import onnx
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
