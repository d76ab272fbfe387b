"""Bytes of every weight variant at real size, extrapolated from the reduced exports of export.py.

    /usr/bin/python3 -m bench.variants.sizes [--dir /tmp/editmgt-variants] [--json bench/variants/results/sizes.json]

Each reduced graph's weights (initializers and node constants) are split into the parts a real graph
repeats and the rest, by the name of the node that reads them: the transformer's double and single
blocks, a text encoder's layers and its token embedding (whose rows scale with the vocab). The real
size is ``rest + sum(count * part)``; the values of the fp32 graph extrapolated the same way must give
the real parameter count exactly, which checks the split. The naive check scales the whole reduced file
by real / reduced parameters. The VQ (convolutions only: the rewrites leave it alone) is computed
from its parameter count alone.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Dict

import numpy as np
import onnx

# Real counts (tools/README.md, the upstream configs): the transformer has 14 double and 28 single
# blocks; the context graph runs Gemma-2-2B's embedding and 25 of its 26 layers (hidden_states[-2]);
# CLIP-H's text tower has 24 layers and 49,408 tokens.
REAL = {
    "transformer": {"parameters": 1_009_306_624, "counts": {"double": 14, "single": 28}},
    "gemma": {"parameters": 589_824_000 + 25 * 77_865_984, "counts": {"layer": 25}, "vocab": 256_000},
    "clip": {"parameters": 354_032_640, "counts": {"layer": 24}, "vocab": 49_408},
}
VQ_PARAMETERS = 146_244_675
PARTS = {
    "transformer": {"double": re.compile(r"/transformer_blocks\.\d+/"),
                    "single": re.compile(r"/single_transformer_blocks\.\d+/")},
    "gemma": {"layer": re.compile(r"/layers\.\d+/"), "embedding": re.compile(r"embed_tokens")},
    "clip": {"layer": re.compile(r"/layers\.\d+/"), "embedding": re.compile(r"token_embedding")},
}


def graph_parts(model: onnx.ModelProto, parts: Dict[str, re.Pattern]) -> Dict[str, Dict[str, int]]:
    """Bytes and float32 values of the initializers and node constants per part.

    A weight counts in the part of its first reader: the first part whose pattern the node name
    matches, else ``rest``. The tracer reads a shared weight through an ``Identity`` named without a
    module path; the reader behind it counts instead.
    """
    sizes = {name: {"bytes": 0, "values": 0} for name in (*parts, "rest")}
    initializers = {t.name: t for t in model.graph.initializer}
    source = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity"}
    seen = set()
    for node in model.graph.node:
        if node.op_type == "Identity":
            continue
        part = sizes[next((p for p, pattern in parts.items() if pattern.search(node.name)), "rest")]
        part["bytes"] += node.ByteSize() if node.op_type == "Constant" else 0
        for name in node.input:
            name = source.get(name, name)
            if name in initializers and name not in seen:
                seen.add(name)
                tensor = initializers[name]
                part["bytes"] += len(tensor.raw_data) if tensor.HasField("raw_data") else tensor.ByteSize()
                if tensor.data_type == onnx.TensorProto.FLOAT:
                    part["values"] += int(np.prod(tensor.dims))
    return sizes


def extrapolate(parts: Dict[str, Dict[str, int]], key: str, real: Dict[str, Any], reduced: Dict[str, Any]) -> int:
    """``rest + count * per-instance part`` (embedding rows scaled by the vocab) for ``key`` (bytes or values)."""
    total = parts["rest"][key]
    for part, count in real["counts"].items():
        total += count * parts[part][key] / reduced["counts"][part]
    if "embedding" in parts:
        total += parts["embedding"][key] * real["vocab"] / reduced["vocab"]
    return int(round(total))


def component_sizes(folder: Path, component: str) -> Dict[str, Any]:
    """Per variant: reduced bytes, real bytes by parts, real bytes scaled per parameter, and the part split."""
    meta = json.loads((folder / "meta.json").read_text())
    config = meta.get("config", {})
    reduced = {"counts": {"double": 1, "single": 1} if component == "transformer"
               else {"layer": config.get("layers_in_graph")}, "vocab": config.get("vocab_size")}
    real = REAL[component]
    result: Dict[str, Any] = {}
    fp32_parts = graph_parts(onnx.load(str(folder / meta["variants"]["fp32"]["files"][0])), PARTS[component])
    reduced_parameters = sum(p["values"] for p in fp32_parts.values())
    extrapolated_parameters = extrapolate(fp32_parts, "values", real, reduced)
    for dtype, facts in meta["variants"].items():
        parts = graph_parts(onnx.load(str(folder / facts["files"][0])), PARTS[component])
        result[dtype] = {
            "reducedBytes": facts["bytes"],
            "realBytes": extrapolate(parts, "bytes", real, reduced),
            "realBytesScaledPerParameter": int(round(facts["bytes"] * real["parameters"] / reduced_parameters)),
            "parts": parts,
        }
    return {"reducedParameters": reduced_parameters, "realParameters": real["parameters"],
            "extrapolatedParameters": extrapolated_parameters, "variants": result}


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/editmgt-variants"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = {component: component_sizes(args.dir / component, component) for component in REAL
             if (args.dir / component / "meta.json").exists()}
    sizes["vq"] = {"realParameters": VQ_PARAMETERS,
                   "variants": {"fp32": {"realBytes": 4 * VQ_PARAMETERS}, "fp16": {"realBytes": 2 * VQ_PARAMETERS}}}
    text = json.dumps(sizes, indent=2) + "\n"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    for component, facts in sizes.items():
        print(component, facts.get("extrapolatedParameters"), facts["realParameters"],
              {d: (v.get("realBytes"), v.get("realBytesScaledPerParameter")) for d, v in facts["variants"].items()})


if __name__ == "__main__":
    main()
