"""A small fp32 graph, its int8 and q4 rewrites, and numpy references, for the runtime check of the layouts.

    /usr/bin/python3 -m bench.variants.check_graph [--out /tmp/editmgt-quant-check]

The graph has every pattern the rewrite handles: a rank-3 MatMul with K a multiple of the block (96),
one with K not a multiple (80, padded to 3 blocks), a Gemm with transB and a bias, and an embedding
Gather. ``reference.<dtype>.*.bin`` is what the quantized graph must compute: the weights dequantized
in numpy (``dequantize_int8`` / ``dequantize_q4``, the documented layouts) and multiplied in float64.
``check_graph.ts`` runs the three graphs on onnxruntime-node and onnxruntime-web (WASM) against them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bench.real_size.common import write_tensors
from tools.export.onnx_io import OPSET
from tools.export.quantize import (QuantizeOptions, dequantize_int8, dequantize_q4, quantize_int8, quantize_model,
                                   quantize_q4)

BATCH, ROWS, K_EVEN, K_ODD, N, VOCAB = 2, 5, 96, 80, 48, 40


def build(seed: int = 0) -> Dict[str, np.ndarray]:
    """The weights of the check graph (random, fixed by ``seed``)."""
    rng = np.random.default_rng(seed)
    return {
        "w_even": rng.standard_normal((K_EVEN, N)).astype(np.float32),  # MatMul [K, N]
        "w_odd": rng.standard_normal((K_ODD, N)).astype(np.float32),
        "w_gemm": rng.standard_normal((N, K_EVEN)).astype(np.float32),  # Gemm transB: [N, K]
        "b_gemm": rng.standard_normal(N).astype(np.float32),
        "table": rng.standard_normal((VOCAB, K_EVEN)).astype(np.float32),
    }


def check_model(weights: Dict[str, np.ndarray]) -> onnx.ModelProto:
    """x_even [B,R,96] @ w_even, x_odd [B,R,80] @ w_odd, Gemm(x_2d [R,96], w_gemm^T, b), Gather(table, ids)."""
    nodes = [
        helper.make_node("MatMul", ["x_even", "w_even"], ["y_even"], name="even/MatMul"),
        helper.make_node("MatMul", ["x_odd", "w_odd"], ["y_odd"], name="odd/MatMul"),
        helper.make_node("Gemm", ["x_2d", "w_gemm", "b_gemm"], ["y_gemm"], name="gemm/Gemm", transB=1),
        helper.make_node("Gather", ["table", "ids"], ["y_rows"], name="embed/Gather"),
    ]
    float_input = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)  # noqa: E731
    graph = helper.make_graph(
        nodes, "quantize-check",
        [float_input("x_even", [BATCH, ROWS, K_EVEN]), float_input("x_odd", [BATCH, ROWS, K_ODD]),
         float_input("x_2d", [ROWS, K_EVEN]), helper.make_tensor_value_info("ids", TensorProto.INT64, [BATCH, ROWS])],
        [float_input("y_even", [BATCH, ROWS, N]), float_input("y_odd", [BATCH, ROWS, N]),
         float_input("y_gemm", [ROWS, N]), float_input("y_rows", [BATCH, ROWS, K_EVEN])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def dequantized(weights: Dict[str, np.ndarray], dtype: str, block_size: int) -> Dict[str, np.ndarray]:
    """The weights as the quantized graph sees them, through the numpy dequantizers."""
    if dtype == "fp32":
        return dict(weights)
    out = dict(weights)
    out["table"] = dequantize_int8(*quantize_int8(weights["table"], 0), 0)
    if dtype == "int8":
        for name in ("w_even", "w_odd"):
            out[name] = dequantize_int8(*quantize_int8(weights[name], 1), 1)
        out["w_gemm"] = dequantize_int8(*quantize_int8(weights["w_gemm"], 0), 0)
        return out
    for name in ("w_even", "w_odd"):
        out[name] = dequantize_q4(*quantize_q4(weights[name].T, block_size), weights[name].shape[0]).T
    out["w_gemm"] = dequantize_q4(*quantize_q4(weights["w_gemm"], block_size), K_EVEN)
    return out


def reference(weights: Dict[str, np.ndarray], inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The graph's outputs for ``weights``, computed in float64 and rounded to float32."""
    f64 = {k: v.astype(np.float64) for k, v in {**weights, **inputs}.items() if v.dtype != np.int64}
    return {
        "y_even": f64["x_even"] @ f64["w_even"],
        "y_odd": f64["x_odd"] @ f64["w_odd"],
        "y_gemm": f64["x_2d"] @ f64["w_gemm"].T + f64["b_gemm"],
        "y_rows": f64["table"][inputs["ids"]],
    }


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/editmgt-quant-check"))
    parser.add_argument("--block-size", type=int, default=32)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    weights = build()
    rng = np.random.default_rng(1)
    inputs = {
        "x_even": rng.standard_normal((BATCH, ROWS, K_EVEN)).astype(np.float32),
        "x_odd": rng.standard_normal((BATCH, ROWS, K_ODD)).astype(np.float32),
        "x_2d": rng.standard_normal((ROWS, K_EVEN)).astype(np.float32),
        "ids": rng.integers(0, VOCAB, (BATCH, ROWS)).astype(np.int64),
    }
    base = check_model(weights)
    options = QuantizeOptions(min_elements=0, block_size=args.block_size)
    meta = {"blockSize": args.block_size, "inputs": write_tensors(args.out, "inputs", inputs), "graphs": {}}
    for dtype in ("fp32", "int8", "q4"):
        model = base if dtype == "fp32" else quantize_model(base, dtype, options)[0]
        onnx.checker.check_model(model, full_check=True)
        onnx.save_model(model, str(args.out / f"check.{dtype}.onnx"))
        expected = {k: v.astype(np.float32) for k, v in reference(dequantized(weights, dtype, args.block_size),
                                                                     inputs).items()}
        meta["graphs"][dtype] = {"file": f"check.{dtype}.onnx",
                                 "ops": sorted({n.op_type for n in model.graph.node}),
                                 "expected": write_tensors(args.out, f"reference.{dtype}", expected)}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({k: v["ops"] for k, v in meta["graphs"].items()}))


if __name__ == "__main__":
    main()
