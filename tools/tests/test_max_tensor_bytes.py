"""``max_tensor_bytes``: the largest tensor of a graph, inline or in external data, for ``maxTensorBytes``."""

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from tools.export.manifest import max_tensor_bytes


def _graph(folder: Path, external: bool) -> Path:
    big = numpy_helper.from_array(np.zeros((300, 20), np.float32), "big")  # 24000 bytes
    small = numpy_helper.from_array(np.zeros(7, np.int64), "small")  # 56 bytes
    constant = helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.zeros((10, 10), np.float16)))
    add = helper.make_node("Add", ["x", "big"], ["y"])
    graph = helper.make_graph([constant, add], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [300, 20])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [300, 20])], [big, small])
    model = helper.make_model(graph)
    path = folder / "graph.onnx"
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="graph.onnx.data", size_threshold=0)
    else:
        onnx.save_model(model, str(path))
    return path


def test_inline_and_external_initializers_give_the_largest_tensor(tmp_path):
    (tmp_path / "inline").mkdir()
    (tmp_path / "external").mkdir()
    assert max_tensor_bytes(_graph(tmp_path / "inline", external=False)) == 300 * 20 * 4
    external = _graph(tmp_path / "external", external=True)
    (tmp_path / "external" / "graph.onnx.data").write_bytes(b"")  # never read: the recorded length counts
    assert max_tensor_bytes(external) == 300 * 20 * 4


def test_a_constant_node_larger_than_every_initializer_counts(tmp_path):
    value = numpy_helper.from_array(np.zeros((64, 64), np.float32))
    node = helper.make_node("Constant", [], ["y"], value=value)
    graph = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [64, 64])])
    path = tmp_path / "const.onnx"
    onnx.save_model(helper.make_model(graph), str(path))
    assert max_tensor_bytes(path) == 64 * 64 * 4
