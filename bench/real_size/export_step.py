"""Export the real-size transformer STEP graph with 1 double and 1 single block and random weights.

    /usr/bin/python3 -m bench.real_size.export_step [--out /tmp/editmgt-real-size] [--double 1 --single 1]

Writes ``transformer.onnx`` (opset 17, the contract's step graph, ~300 MB of fp32 weights: NEVER commit
it), the step inputs as raw ``inputs.*.bin`` and the torch outputs on them as ``expected.*.bin`` (for
the ONNX-vs-torch check of step.ts), and ``meta.json`` (config, sizes, file index). For a quick check of
the scripts on small dims: ``--base tiny --grid 16 --text-length 16``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from tools.export.onnx_io import export_graph
from tools.export.package import STEP_INPUTS

from .common import (DEFAULT_DIR, DOUBLE, SEED, SINGLE, TEXT_LENGTH, VQ_GRID, build_step, config_spec,
                     step_inputs, torch_inputs, write_tensors)


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--base", default="editmgt-1024", help="transformer config the block counts override")
    parser.add_argument("--double", type=int, default=DOUBLE)
    parser.add_argument("--single", type=int, default=SINGLE)
    parser.add_argument("--grid", type=int, default=VQ_GRID[0], help="VQ grid side (64 at 1024 px)")
    parser.add_argument("--text-length", type=int, default=TEXT_LENGTH)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    spec = config_spec(args.base, args.double, args.single)
    started = time.perf_counter()
    step = build_step(spec, args.seed)
    grid = (args.grid, args.grid)
    inputs = step_inputs(step, grid, args.text_length, args.seed)
    built = time.perf_counter() - started

    args.out.mkdir(parents=True, exist_ok=True)
    example = torch_inputs(inputs)
    with torch.no_grad():
        expected = dict(zip(step.OUTPUTS, (t.numpy() for t in step(*example))))
    result = export_graph(step, example, STEP_INPUTS, args.out, "transformer.onnx",
                          doc=f"real-size step graph, {args.double}+{args.single} blocks, random weights")
    config = step.transformer.config
    meta = {
        "spec": spec,
        "seed": args.seed,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()},
        "vqGrid": list(grid),
        "transformerGrid": [args.grid // 2, args.grid // 2],
        "textLength": args.text_length,
        "localizationBlocks": step.localization_blocks,
        "parameters": sum(p.numel() for p in step.parameters()),
        "files": result.files,
        "weightBytes": result.weight_bytes,
        "buildSeconds": round(built, 2),
        "exportSeconds": round(result.seconds, 2),
        "inputs": write_tensors(args.out, "inputs", inputs),
        "expected": write_tensors(args.out, "expected", expected),
    }
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({k: meta[k] for k in ("spec", "parameters", "files", "weightBytes", "exportSeconds")}))


if __name__ == "__main__":
    main()
