"""One real-size transformer step on a GPU: torch CUDA and onnxruntime's CUDA provider, fp32 and fp16.

    python3 -m bench.gpu.step_gpu [--double 14 --single 28] [--out /tmp/editmgt-gpu] [--runs 5]
        [--json bench/gpu/results/step.json] [--budget-seconds 420]

Builds the ``editmgt-1024`` step graph (bench/real_size/common.py: random weights, 64x64 tokens, 256 text
rows, both CFG halves, the sampling head) at the given depth, times it in torch on CUDA (fp32, then fp16
weights via ``.half()``, which keeps the model's float32 islands), exports it to ONNX (opset 17, external
data) and times onnxruntime's CUDA provider on the fp32 graph and an fp16 graph (tools/export/fp16.py).
A phase that does not fit the time budget, or a runtime that is missing, is reported as skipped, never
guessed. Per-step times scale to the full 14 + 28 blocks by the measured per-block cost when the depth is
reduced, and a whole edit is estimated at the upstream defaults (36 steps) next to the paper's ~2 s.
Smoke test without a GPU: ``--device cpu --base tiny --grid 16 --text-length 16``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from bench.real_size.common import build_step, config_spec, machine, step_inputs, torch_inputs
from tools.export.onnx_io import export_graph
from tools.export.package import STEP_INPUTS

FULL_DOUBLE, FULL_SINGLE = 14, 28
UPSTREAM_STEPS = 36
PAPER_SECONDS_PER_EDIT = 2.0


def time_runs(run, runs: int, synchronize) -> list:
    """Milliseconds of ``runs`` calls after one warm-up."""
    run()
    synchronize()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        synchronize()
        times.append((time.perf_counter() - started) * 1000)
    return times


def torch_phase(step, inputs, device, half, runs):
    """Median ms of a torch step on ``device`` (fp16 weights when ``half``)."""
    module = step.to(device)
    if half:
        module = module.half()
    tensors = [t.to(device) for t in torch_inputs(inputs)]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.no_grad():
        times = time_runs(lambda: module(*tensors), runs, sync)
    step.float().cpu()
    return {"medianMs": statistics.median(times), "runsMs": times}


def ort_phase(path: Path, inputs, provider, runs):
    """Median ms of an onnxruntime session run on ``provider``, or why it was skipped."""
    try:
        import onnxruntime as ort
    except ImportError as error:
        return {"skipped": f"onnxruntime not importable: {error}"}
    if provider not in ort.get_available_providers():
        return {"skipped": f"{provider} not available ({ort.get_available_providers()})"}
    session = ort.InferenceSession(str(path), providers=[provider])
    feeds = {name: inputs[name] for name in STEP_INPUTS if name in {i.name for i in session.get_inputs()}}
    times = time_runs(lambda: session.run(None, feeds), runs, lambda: None)
    return {"medianMs": statistics.median(times), "runsMs": times, "version": ort.__version__}


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="editmgt-1024")
    parser.add_argument("--double", type=int, default=FULL_DOUBLE)
    parser.add_argument("--single", type=int, default=FULL_SINGLE)
    parser.add_argument("--grid", type=int, default=64)
    parser.add_argument("--text-length", type=int, default=256)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("/tmp/editmgt-gpu"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--budget-seconds", type=float, default=420.0)
    args = parser.parse_args()
    deadline = time.perf_counter() + args.budget_seconds
    result = {"machine": machine(), "torch": torch.__version__, "device": args.device,
              "blocks": {"double": args.double, "single": args.single}}
    if args.device == "cuda":
        result["gpu"] = torch.cuda.get_device_name(0)

    step = build_step(config_spec(args.base, args.double, args.single))
    inputs = step_inputs(step, (args.grid, args.grid), args.text_length)
    result["parameters"] = sum(p.numel() for p in step.parameters())
    phases = {}
    for name, half in (("torch-fp32", False), ("torch-fp16", True)):
        try:
            phases[name] = torch_phase(step, inputs, args.device, half, args.runs)
        except RuntimeError as error:  # e.g. no fp16 matmul on a CPU smoke run
            step.float().cpu()
            phases[name] = {"skipped": str(error).splitlines()[0]}
    provider = "CUDAExecutionProvider" if args.device == "cuda" else "CPUExecutionProvider"
    for dtype in ("fp32", "fp16"):
        if time.perf_counter() > deadline:
            phases[f"ort-{dtype}"] = {"skipped": "time budget spent"}
            continue
        started = time.perf_counter()
        folder = args.out / dtype
        with torch.no_grad():
            source = step if dtype == "fp32" else __import__("copy").deepcopy(step).double()
            export_graph(source, torch_inputs(inputs), STEP_INPUTS, folder, "transformer.onnx", fp16=dtype == "fp16")
        phases[f"ort-{dtype}"] = {"exportSeconds": round(time.perf_counter() - started, 1),
                                  **ort_phase(folder / "transformer.onnx", inputs, provider, args.runs)}
    blocks = args.double + args.single
    full = FULL_DOUBLE + FULL_SINGLE
    for name, phase in phases.items():
        if "medianMs" in phase:
            # Linear in the block count: the measured step holds `blocks` blocks plus fixed costs
            # (embedding, head, sampling), which the full model shares; scaling all of it is an upper bound.
            phase["fullDepthMsUpperBound"] = phase["medianMs"] * full / blocks
            phase["editSecondsAt36Steps"] = phase["fullDepthMsUpperBound"] * UPSTREAM_STEPS / 1000
    result["phases"] = phases
    result["paperSecondsPerEdit"] = PAPER_SECONDS_PER_EDIT
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
