"""fp16 export: trace the model in float64, then retype every float64 tensor of the graph to float16.

torch 1.13 cannot run half-precision ops on CPU, so the graph cannot be traced in fp16 directly, and a
graph traced in fp32 has lost the intent of the code (``x.float()`` on an fp32 tensor is a no-op and
leaves no trace). Tracing with float64 weights keeps that intent: everything the code computes "in the
model dtype" is float64 in the trace, everything it deliberately computes in float32 (RMSNorm variance,
sinusoids, RoPE, the sampling head, VQ distances) stays float32, and torch's type promotion inserts the
casts between them. Mapping float64 -> float16 then yields the graph the code would run in half
precision, with fp32 islands exactly where the code asks for them. Normalization ops listed in
``FP32_OPS`` are additionally run in fp32 (casts around them) for sane statistics.
"""

from __future__ import annotations

from typing import Dict, Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

FP32_OPS = frozenset({"LayerNormalization", "InstanceNormalization", "GroupNormalization"})
FP16_MAX = float(np.finfo(np.float16).max)


class Fp16ConversionError(ValueError):
    """The graph cannot be converted (a weight overflows fp16, or float64 reaches a graph input/output)."""


def _to_fp16(tensor: onnx.TensorProto, what: str) -> onnx.TensorProto:
    values = numpy_helper.to_array(tensor)
    finite = values[np.isfinite(values)]
    if finite.size and np.abs(finite).max() > FP16_MAX:
        raise Fp16ConversionError(f"{what} has values beyond the fp16 range (max |x| = {np.abs(finite).max():g})")
    return numpy_helper.from_array(values.astype(np.float16), tensor.name)


def _elem_types(model: onnx.ModelProto) -> Dict[str, int]:
    graph = model.graph
    types = {}
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        types[value.name] = value.type.tensor_type.elem_type
    for init in graph.initializer:
        types[init.name] = init.data_type
    return types


def convert_to_fp16(model: onnx.ModelProto, fp32_ops: Iterable[str] = FP32_OPS) -> onnx.ModelProto:
    """Return a copy of a float64-traced model with float64 -> float16 (see the module doc).

    Graph inputs and outputs must not be float64 (the wrappers cast to float32 at the boundary).
    """
    fp32_ops = frozenset(fp32_ops)
    model = shape_inference.infer_shapes(model)
    graph = model.graph
    for value in list(graph.input) + list(graph.output):
        if value.type.tensor_type.elem_type == TensorProto.DOUBLE:
            raise Fp16ConversionError(f"graph input/output {value.name!r} is float64; cast it in the wrapper")
    types = _elem_types(model)

    initializers = []
    for init in graph.initializer:
        initializers.append(_to_fp16(init, f"weight {init.name!r}") if init.data_type == TensorProto.DOUBLE else init)
    del graph.initializer[:]
    graph.initializer.extend(initializers)

    nodes = []
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.DOUBLE:
                attr.t.CopyFrom(_to_fp16(attr.t, f"constant of node {node.name!r}"))
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.DOUBLE:
                attr.i = TensorProto.FLOAT16
        if node.op_type not in fp32_ops:
            nodes.append(node)
            continue
        for index, name in enumerate(node.input):
            if name and types.get(name) == TensorProto.DOUBLE:
                cast_name = f"{name}__fp32_for_{node.name}"
                nodes.append(helper.make_node("Cast", [name], [cast_name], name=f"{node.name}/CastIn{index}",
                                              to=TensorProto.FLOAT))
                node.input[index] = cast_name
        nodes.append(node)
        for index, name in enumerate(node.output):
            if name and types.get(name) == TensorProto.DOUBLE:
                inner = f"{name}__fp32"
                node.output[index] = inner
                nodes.append(helper.make_node("Cast", [inner], [name], name=f"{node.name}/CastOut{index}",
                                              to=TensorProto.FLOAT16))
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]
    model = shape_inference.infer_shapes(model, strict_mode=True)
    leftover = [v.name for v in model.graph.value_info if v.type.tensor_type.elem_type == TensorProto.DOUBLE]
    if leftover:
        raise Fp16ConversionError(f"float64 tensors remain after conversion: {leftover[:5]}")
    return model
