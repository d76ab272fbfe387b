"""Trace a graph wrapper to ONNX (opset 17), optionally convert it to fp16, check it, save it.

Models whose weights exceed the protobuf limit (2 GB) are saved with ONNX external data: the graph in
``NAME.onnx`` and every weight in one ``NAME.onnx.data`` beside it (listed in the manifest too).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import onnx
import torch
from onnx import external_data_helper, numpy_helper

from .fp16 import convert_to_fp16

OPSET = 17
EXTERNAL_DATA_THRESHOLD = 2 * 1024 ** 3 - 64 * 1024 ** 2  # stay clear of the 2 GiB protobuf limit


@dataclass
class ExportResult:
    """Files written (names relative to the output folder), weight bytes and seconds spent."""

    files: List[str]
    weight_bytes: int
    seconds: float


def _initializer_bytes(model: onnx.ModelProto) -> int:
    """Bytes of all weights (initializers are stored as raw data by the exporter and the fp16 pass)."""
    return sum(len(t.raw_data) if t.HasField("raw_data") else numpy_helper.to_array(t).nbytes
               for t in model.graph.initializer)


def trace(module: torch.nn.Module, args: Tuple[torch.Tensor, ...], input_names: Sequence[str],
          output_names: Sequence[str], dynamic_axes: Optional[Dict[str, Dict[int, str]]] = None) -> onnx.ModelProto:
    """Trace ``module(*args)`` to an in-memory ModelProto (weights loaded, whatever their size).

    Shapes are static (those of ``args``) except the axes named in ``dynamic_axes``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "graph.onnx")
        with torch.no_grad():
            torch.onnx.export(module.eval(), args, path, input_names=list(input_names),
                              output_names=list(output_names), opset_version=OPSET, do_constant_folding=True,
                              dynamic_axes=dynamic_axes)
        return onnx.load(path, load_external_data=True)


def dedupe_constants(model: onnx.ModelProto) -> int:
    """Merge identical Constant nodes (same dtype, shape and bytes) into the first one; return how many.

    The tracer embeds a fresh copy of a constant tensor at every use: the RoPE tables appear four times
    per block (over 100 MB in the real 42-block graph). Consumers are rewired to one copy.
    """
    graph = model.graph
    outputs = {o.name for o in graph.output}
    first: Dict[Tuple[int, Tuple[int, ...], bytes], str] = {}
    renamed: Dict[str, str] = {}
    kept = []
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value" \
                and node.output[0] not in outputs:
            tensor = node.attribute[0].t
            key = (tensor.data_type, tuple(tensor.dims), hashlib.sha256(tensor.SerializeToString()).digest())
            if key in first:
                renamed[node.output[0]] = first[key]
                continue
            first[key] = node.output[0]
        for index, name in enumerate(node.input):
            if name in renamed:
                node.input[index] = renamed[name]
        kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    return len(renamed)


def drop_trailing_empty_inputs(model: onnx.ModelProto) -> int:
    """Remove empty-name optional inputs at the end of node input lists; return how many nodes changed.

    torch writes ``LayerNormalization(x, scale, "")`` for a norm without bias. That is valid ONNX, but
    onnxruntime 1.30's SkipLayerNormFusion (extended optimizations) crashes the process on it.
    """
    changed = 0
    for node in model.graph.node:
        if node.input and not node.input[-1]:
            inputs = list(node.input)
            while inputs and not inputs[-1]:
                inputs.pop()
            del node.input[:]
            node.input.extend(inputs)
            changed += 1
    return changed


def save(model: onnx.ModelProto, folder: Path, name: str,
         external_data_threshold: int = EXTERNAL_DATA_THRESHOLD) -> List[str]:
    """Check and save ``model`` as ``folder/name`` (+ ``name.data`` when weights exceed the threshold)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    data_name = name + ".data"
    if (folder / data_name).exists():
        (folder / data_name).unlink()
    if _initializer_bytes(model) > external_data_threshold:
        external_data_helper.convert_model_to_external_data(
            model, all_tensors_to_one_file=True, location=data_name, size_threshold=1024)
        onnx.save_model(model, str(path))
        onnx.checker.check_model(str(path), full_check=True)
        return [name, data_name]
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(path))
    return [name]


def export_graph(module: torch.nn.Module, args: Tuple[torch.Tensor, ...], input_names: Sequence[str],
                 folder: Path, name: str, fp16: bool = False,
                 external_data_threshold: int = EXTERNAL_DATA_THRESHOLD, doc: str = "",
                 dynamic_axes: Optional[Dict[str, Dict[int, str]]] = None) -> ExportResult:
    """Trace, optionally convert to fp16 (graph I/O stays as traced), check and save one graph."""
    start = time.perf_counter()
    model = trace(module, args, input_names, list(module.OUTPUTS), dynamic_axes)
    dedupe_constants(model)
    drop_trailing_empty_inputs(model)
    if fp16:
        model = convert_to_fp16(model)
    del model.graph.value_info[:]  # shape annotations: ORT re-infers them; they only add bytes
    model.producer_name = "editmgt-tools"
    model.doc_string = doc
    weight_bytes = _initializer_bytes(model)
    files = save(model, folder, name, external_data_threshold)
    return ExportResult(files, weight_bytes, time.perf_counter() - start)
