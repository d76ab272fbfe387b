"""Weight-only quantization of an fp32 ONNX graph: the ``int8`` and ``q4`` weight variants of a package.

Activations stay float32 in both; only constant weights shrink.

``int8`` (standard ONNX, opset 13+): a MatMul/Gemm whose weight is an initializer reads it through
``DequantizeLinear(w_int8, scale)`` with one symmetric scale per output channel
(``scale = max|w| / 127``). A large embedding ``Gather`` keeps int8 rows and a per-row scale gathered
with the same ids: ``Cast(Gather(rows_int8, ids)) * Gather(scales, ids)``.

``q4`` (onnxruntime contrib op ``com.microsoft::MatMulNBits``, bits 4): ``Y = A @ dequant(B)^T`` where
``B`` is the weight as ``[N, K]`` (output, input channels) cut along K into blocks of ``block_size``
values. Each block has one float32 scale and the default zero point 8, so a code ``q`` in [0, 15] means
``(q - 8) * scale``. Inputs: ``B`` uint8 ``[N, ceil(K/block), block/2]`` (two codes per byte, the first
in the low nibble, K padded with zeros to whole blocks), ``scales`` float32 ``[N * ceil(K/block)]``
(row-major over ``[N, blocks]``). The scale of a block is ``w_m / -8`` with ``w_m`` its value of largest
magnitude, so ``w_m`` is exact and the other values round to the 16 levels ``-8..7`` (a value of the
opposite sign beyond ``7 * |scale|`` clips to 7). Embedding tables stay int8 in q4 graphs.

Both rewrites skip weights with fewer than ``min_elements`` values and every node whose name contains
one of the ``keep`` substrings (numerically delicate parts such as the transformer's MLM head, which
produces the logits the sampler draws from). A weight shared by several nodes is quantized once (also
where the tracer reads it through an ``Identity``, as for the reference stream's second pass).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .onnx_io import EXTERNAL_DATA_THRESHOLD, save

QUANTIZED_DTYPES = ("int8", "q4")
MS_DOMAIN = "com.microsoft"
Q4_ZERO_POINT = 8
# Weights below this many values stay float32: the bytes saved are negligible and small layers
# (timestep and pooled embedders of a small model) are where rounding hurts most per byte.
MIN_ELEMENTS = 16384
# The transformer's MLM head maps hidden states to codebook logits; the sampler draws from them.
TRANSFORMER_KEEP = ("mlm_layer",)


@dataclass
class QuantizeOptions:
    """What to quantize and how (defaults suit the real-size graphs)."""

    min_elements: int = MIN_ELEMENTS  # weights with fewer values stay float32
    block_size: int = 32  # q4 block length along K (a power of two >= 16)
    keep: Sequence[str] = ()  # node-name substrings whose weights stay float32
    embeddings: bool = True  # int8 rows for large embedding Gathers (both dtypes)


@dataclass
class QuantizeReport:
    """What a rewrite changed: node counts per op, skipped weights with the reason, weight bytes."""

    dtype: str
    quantized: Dict[str, int] = field(default_factory=dict)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0

    def summary(self) -> Dict[str, object]:
        """A JSON-friendly digest (skips are counted per reason)."""
        reasons: Dict[str, int] = {}
        for _, reason in self.skipped:
            reasons[reason] = reasons.get(reason, 0) + 1
        return {"dtype": self.dtype, "quantized": dict(self.quantized), "skipped": reasons,
                "weightBytesBefore": self.bytes_before, "weightBytesAfter": self.bytes_after,
                "seconds": round(self.seconds, 2)}


# --- the numerics (plain numpy; the tests and the ONNX runtime checks share them) -----------------

def quantize_int8(weight: np.ndarray, axis: int) -> Tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one scale per index of ``axis``: ``weight ~ q * scale`` (q in [-127, 127]).

    Returns ``(q int8, scale float32 [weight.shape[axis]])``. An all-zero channel gets scale 1.
    """
    weight = np.asarray(weight, dtype=np.float32)
    reduce_axes = tuple(i for i in range(weight.ndim) if i != axis % weight.ndim)
    absmax = np.abs(weight).max(axis=reduce_axes)
    scale = np.where(absmax > 0, absmax / 127.0, 1.0).astype(np.float32)
    shape = [1] * weight.ndim
    shape[axis] = -1
    q = np.clip(np.rint(weight / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def dequantize_int8(q: np.ndarray, scale: np.ndarray, axis: int) -> np.ndarray:
    """The float32 weight that ``DequantizeLinear(q, scale, axis)`` computes."""
    shape = [1] * q.ndim
    shape[axis] = -1
    return q.astype(np.float32) * scale.reshape(shape)


def quantize_q4(weight_nk: np.ndarray, block_size: int = 32) -> Tuple[np.ndarray, np.ndarray]:
    """MatMulNBits 4-bit blocks of a ``[N, K]`` weight: ``(B uint8 [N, blocks, block/2], scales [N*blocks])``.

    K is padded with zeros to whole blocks. Code ``q = clip(round(w / scale), -8, 7) + 8`` with
    ``scale = w_m / -8`` per block (``w_m`` the value of largest magnitude; 1 for an all-zero block).
    Two codes per byte along K, the first in the low nibble.
    """
    if block_size < 16 or block_size & (block_size - 1):
        raise ValueError(f"block_size must be a power of two >= 16, got {block_size}")
    weight_nk = np.asarray(weight_nk, dtype=np.float32)
    n, k = weight_nk.shape
    blocks = -(-k // block_size)
    padded = np.zeros((n, blocks * block_size), dtype=np.float32)
    padded[:, :k] = weight_nk
    padded = padded.reshape(n, blocks, block_size)
    index = np.abs(padded).argmax(axis=2)[..., None]
    extreme = np.take_along_axis(padded, index, axis=2)[..., 0]
    scale = np.where(extreme != 0, extreme / -float(Q4_ZERO_POINT), 1.0).astype(np.float32)
    codes = np.clip(np.rint(padded / scale[..., None]), -Q4_ZERO_POINT, Q4_ZERO_POINT - 1) + Q4_ZERO_POINT
    codes = codes.astype(np.uint8)
    packed = codes[..., 0::2] | (codes[..., 1::2] << 4)
    return packed, scale.reshape(-1)


def dequantize_q4(packed: np.ndarray, scales: np.ndarray, k: int) -> np.ndarray:
    """The ``[N, K]`` float32 weight MatMulNBits reads from ``quantize_q4``'s output (the inverse layout)."""
    n, blocks, half = packed.shape
    codes = np.empty((n, blocks, 2 * half), dtype=np.float32)
    codes[..., 0::2] = packed & 0x0F
    codes[..., 1::2] = packed >> 4
    weight = (codes - Q4_ZERO_POINT) * scales.reshape(n, blocks, 1)
    return weight.reshape(n, blocks * 2 * half)[:, :k]


# --- the graph rewrite ------------------------------------------------------------------------------

class _Rewriter:
    """Rewrites one graph in place; new initializers are created once per (weight, layout)."""

    def __init__(self, model: onnx.ModelProto, dtype: str, options: QuantizeOptions):
        if dtype not in QUANTIZED_DTYPES:
            raise ValueError(f"unknown quantized dtype {dtype!r}; known: {QUANTIZED_DTYPES}")
        self.model, self.dtype, self.options = model, dtype, options
        self.graph = model.graph
        self.weights = {init.name: init for init in self.graph.initializer}
        self.created: Dict[Tuple[str, str], List[str]] = {}
        self.new_initializers: List[onnx.TensorProto] = []
        self.report = QuantizeReport(dtype)

    def _array(self, name: str) -> np.ndarray:
        return numpy_helper.to_array(self.weights[name])

    def _once(self, weight: str, layout: str, make: Callable[[], Dict[str, np.ndarray]]) -> List[str]:
        """Names of the initializers holding ``weight`` in ``layout``; ``make`` builds them the first time."""
        key = (weight, layout)
        if key not in self.created:
            names = []
            for suffix, value in make().items():
                name = f"{weight}_{layout}_{suffix}"
                self.new_initializers.append(numpy_helper.from_array(value, name))
                names.append(name)
            self.created[key] = names
        return self.created[key]

    def _eligible(self, node: onnx.NodeProto, weight: Optional[str]) -> bool:
        """Whether ``weight`` (an input of ``node``) is a float32 initializer worth quantizing."""
        if weight is None or weight not in self.weights:
            return False
        tensor = self.weights[weight]
        if tensor.data_type != TensorProto.FLOAT or len(tensor.dims) != 2:
            return False
        if any(pattern in node.name for pattern in self.options.keep):
            self.report.skipped.append((node.name, "kept in float32"))
            return False
        if int(np.prod(tensor.dims)) < self.options.min_elements:
            self.report.skipped.append((node.name, f"fewer than {self.options.min_elements} values"))
            return False
        return True

    def _count(self, op_type: str) -> None:
        self.report.quantized[op_type] = self.report.quantized.get(op_type, 0) + 1

    def matmul(self, node: onnx.NodeProto) -> List[onnx.NodeProto]:
        """MatMul(A, W [K, N]) -> DequantizeLinear + MatMul (int8) or MatMulNBits (q4)."""
        weight = node.input[1]
        if not self._eligible(node, weight):
            return [node]
        self._count("MatMul")
        return self._linear(node, node.input[0], weight, transposed=False, bias=None, output=node.output[0])

    def gemm(self, node: onnx.NodeProto) -> List[onnx.NodeProto]:
        """Gemm(A, W, C) with alpha = beta = 1 and transA = 0 -> the same as MatMul plus Add(C)."""
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attributes.get("alpha", 1.0) != 1.0 or attributes.get("beta", 1.0) != 1.0 \
                or attributes.get("transA", 0) != 0:
            return [node]
        weight = node.input[1]
        if not self._eligible(node, weight):
            return [node]
        self._count("Gemm")
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        return self._linear(node, node.input[0], weight, transposed=bool(attributes.get("transB", 0)), bias=bias,
                            output=node.output[0])

    def _linear(self, node, activation: str, weight: str, transposed: bool, bias: Optional[str],
                output: str) -> List[onnx.NodeProto]:
        """``activation @ W (+ bias)`` with W stored ``[N, K]`` if ``transposed`` else ``[K, N]``."""
        if self.dtype == "int8":
            axis = 0 if transposed else 1  # the output-channel axis
            q, scale = self._once(weight, "int8", lambda: dict(zip(("q", "scale"), quantize_int8(
                self._array(weight), axis))))
            dequantized = f"{node.name}/weight_dequantized"
            nodes = [helper.make_node("DequantizeLinear", [q, scale], [dequantized], name=f"{node.name}/Dequantize",
                                      axis=axis)]
            if node.op_type == "Gemm":
                inputs = [activation, dequantized] + ([bias] if bias else [])
                nodes.append(helper.make_node("Gemm", inputs, [output], name=node.name, transB=int(transposed)))
            else:
                nodes.append(helper.make_node("MatMul", [activation, dequantized], [output], name=node.name))
            return nodes
        rows, columns = self.weights[weight].dims
        k, n = (columns, rows) if transposed else (rows, columns)
        block = self.options.block_size

        def make():
            matrix = self._array(weight)
            packed, scales = quantize_q4(matrix if transposed else matrix.T, block)
            return {"q4": packed, "scales": scales}

        packed, scales = self._once(weight, f"q4b{block}", make)
        product = f"{node.name}/matmul_nbits" if bias else output
        nodes = [helper.make_node("MatMulNBits", [activation, packed, scales], [product], name=node.name,
                                  domain=MS_DOMAIN, K=int(k), N=int(n), bits=4, block_size=block)]
        if bias:
            nodes.append(helper.make_node("Add", [product, bias], [output], name=f"{node.name}/bias"))
        return nodes

    def gather(self, node: onnx.NodeProto) -> List[onnx.NodeProto]:
        """Gather(table [V, D], ids) on axis 0 -> int8 rows times their gathered per-row scales."""
        axis = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 0)
        table = node.input[0]
        if not self.options.embeddings or axis != 0 or not self._eligible(node, table):
            return [node]
        self._count("Gather")
        q, scale = self._once(table, "int8rows", lambda: (lambda qs: {"q": qs[0], "scale": qs[1].reshape(-1, 1)})(
            quantize_int8(self._array(table), 0)))
        rows, cast, scales = (f"{node.name}/{part}" for part in ("rows_int8", "rows", "row_scales"))
        return [
            helper.make_node("Gather", [q, node.input[1]], [rows], name=node.name, axis=0),
            helper.make_node("Cast", [rows], [cast], name=f"{node.name}/Cast", to=TensorProto.FLOAT),
            helper.make_node("Gather", [scale, node.input[1]], [scales], name=f"{node.name}/GatherScales", axis=0),
            helper.make_node("Mul", [cast, scales], [node.output[0]], name=f"{node.name}/Scale"),
        ]

    def inline_weight_identities(self) -> None:
        """Make readers of ``Identity(initializer)`` read the initializer itself.

        The tracer reads a weight used twice (the reference stream runs the same blocks) through an
        Identity the second time; without this, that reader would keep a float32 copy alive.
        """
        graph_outputs = {o.name for o in self.graph.output}
        source: Dict[str, str] = {}
        kept = []
        for node in self.graph.node:
            inputs = [source.get(name, name) for name in node.input]
            del node.input[:]
            node.input.extend(inputs)
            if node.op_type == "Identity" and inputs[0] in self.weights and node.output[0] not in graph_outputs:
                source[node.output[0]] = inputs[0]
                continue
            kept.append(node)
        del self.graph.node[:]
        self.graph.node.extend(kept)

    def run(self) -> QuantizeReport:
        """Rewrite every eligible node, drop the float32 weights nothing reads any more."""
        self.report.bytes_before = _weight_bytes(self.graph.initializer)
        self.inline_weight_identities()
        handlers = {"MatMul": self.matmul, "Gemm": self.gemm, "Gather": self.gather}
        nodes: List[onnx.NodeProto] = []
        for node in self.graph.node:
            handler = handlers.get(node.op_type)
            nodes.extend(handler(node) if handler and node.domain in ("", "ai.onnx") else [node])
        del self.graph.node[:]
        self.graph.node.extend(nodes)
        self.graph.initializer.extend(self.new_initializers)
        used = {name for node in self.graph.node for name in node.input} | {o.name for o in self.graph.output}
        kept = [init for init in self.graph.initializer if init.name in used]
        del self.graph.initializer[:]
        self.graph.initializer.extend(kept)
        if self.dtype == "q4" and not any(o.domain == MS_DOMAIN for o in self.model.opset_import):
            self.model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
        self.report.bytes_after = _weight_bytes(self.graph.initializer)
        return self.report


def _weight_bytes(initializers) -> int:
    return sum(len(t.raw_data) if t.HasField("raw_data") else numpy_helper.to_array(t).nbytes for t in initializers)


def quantize_model(model: onnx.ModelProto, dtype: str, options: QuantizeOptions = QuantizeOptions(),
                   in_place: bool = False) -> Tuple[onnx.ModelProto, QuantizeReport]:
    """Quantize an fp32 model (weights loaded); return it (a copy unless ``in_place``) and what changed."""
    start = time.perf_counter()
    if not in_place:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)  # CopyFrom also works beyond the 2 GiB serialization limit
        model = copy
    report = _Rewriter(model, dtype, options).run()
    del model.graph.value_info[:]
    model.doc_string = f"{model.doc_string} [{dtype} weights: tools/export/quantize.py]".strip()
    report.seconds = time.perf_counter() - start
    return model, report


def quantize_file(source: Path, folder: Path, name: str, dtype: str, options: QuantizeOptions = QuantizeOptions(),
                  external_data_threshold: int = EXTERNAL_DATA_THRESHOLD) -> Tuple[List[str], QuantizeReport]:
    """Quantize the graph at ``source`` (external data beside it is read) into ``folder/name``.

    Returns the files written (``name`` plus ``name.data`` above the threshold) and the report.
    """
    model, report = quantize_model(onnx.load(str(source), load_external_data=True), dtype, options,
                                   in_place=True)
    files = save(model, Path(folder), name, external_data_threshold)
    return files, report
