"""Time one real-size transformer step in torch (the same module and inputs that export_step.py exported).

    /usr/bin/python3 -m bench.real_size.torch_step [--dir /tmp/editmgt-real-size] [--threads 2] [--runs 5]
        [--json bench/real_size/results/torch.json]

Rebuilds the random-weight step module from ``meta.json`` (same config and seed), checks that it
reproduces the exported ``expected`` outputs, then times ``TransformerStep`` forward (both CFG halves,
sampling head and text attention, as the ONNX graph) after one warm-up run. Per-block times come from
forward hooks on the double block, the single block and the rest (embedding, head, sampling).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from .common import DEFAULT_DIR, build_step, load_meta, machine, read_tensors, torch_inputs


def block_timer(step) -> Dict[str, List[float]]:
    """Register hooks that append every block's forward milliseconds, keyed ``double`` / ``single``."""
    times: Dict[str, List[float]] = {"double": [], "single": []}
    started: Dict[int, float] = {}

    def attach(module, key: str) -> None:
        def before(mod, _inputs):
            started[id(mod)] = time.perf_counter()

        def after(mod, _inputs, _output):
            times[key].append((time.perf_counter() - started.pop(id(mod))) * 1000)

        module.register_forward_pre_hook(before)
        module.register_forward_hook(after)

    for block in step.transformer.transformer_blocks:
        attach(block, "double")
    for block in step.transformer.single_transformer_blocks:
        attach(block, "single")
    return times


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    meta = load_meta(args.dir)
    step = build_step(meta["spec"], meta["seed"])
    inputs = torch_inputs(read_tensors(args.dir, meta["inputs"]))
    expected = read_tensors(args.dir, meta["expected"])
    with torch.no_grad():
        outputs = dict(zip(step.OUTPUTS, (t.numpy() for t in step(*inputs))))  # warm-up and check
    for name, value in expected.items():
        if not np.allclose(outputs[name], value, atol=1e-4):
            raise AssertionError(f"rebuilt module disagrees with the exported {name}")

    blocks = block_timer(step)
    totals, cpu = [], []
    for _ in range(args.runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        with torch.no_grad():
            step(*inputs)
        totals.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    double = statistics.median(blocks["double"]) if blocks["double"] else 0.0
    single = statistics.median(blocks["single"]) if blocks["single"] else 0.0
    config = meta["config"]
    step_ms = statistics.median(totals)
    rest = step_ms - double * config["num_layers"] - single * config["num_single_layers"]
    result = {
        "runtime": f"torch {torch.__version__}",
        "machine": machine(),
        "threads": args.threads,
        "runs": args.runs,
        "spec": meta["spec"],
        "stepMs": {"median": round(step_ms, 1), "min": round(min(totals), 1), "all": [round(t, 1) for t in totals]},
        "stepCpuMs": {"median": round(statistics.median(cpu), 1), "min": round(min(cpu), 1)},
        "blockMs": {"double": round(double, 1), "single": round(single, 1), "rest": round(rest, 1)},
    }
    print(json.dumps(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
