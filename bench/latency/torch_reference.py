"""Whole edits with the torch reference pipeline, with the settings of bench/latency/pipeline.ts, for the ratio.

    /usr/bin/python3 -m bench.latency.torch_reference [--model tests/fixtures/tiny-random]
        [--checkpoint runs/tiny] [--threads 2] [--runs 10] [--json bench/latency/results/torch.json]

The torch modules are those of the package named by ``--model``: the random test package is rebuilt
from its exporter's seed (and checked against its committed goldens); a trained package needs
``--checkpoint``, the tools/train bundle folder it was exported from. Settings come from the package's
manifest (steps, guidance, gamma, temperature, schedule, micro-conditioning, timestep convention,
localization blocks), with lambda 0.3 and all text rows as in pipeline.ts.

One edit = tokenize and encode the instruction (the empty negative prompt is encoded once, as the TS
pipeline caches it), VQ-encode the 64x64 source, ``sample`` with ``TorchStep``, VQ-decode to 8-bit
pixels. The TS pipeline also composites the result over the source, which torch has no counterpart
for (well under a millisecond at 64x64). Prints per-phase medians after one warm-up edit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from bench.real_size.common import machine
from tools.editmgt.sampling import TorchStep, sample
from tools.editmgt.tokenizer import WordTokenizer
from tools.export.graphs import TextEncoder, VQDecoder, VQEncoder
from tools.export.models import from_training_checkpoints
from tools.parity.sampler_parity import PACKAGE, load_bundle, source_image

LAMBDA = 0.3
INSTRUCTION = "make the red circle blue"


def modules(model: Path, checkpoint: Path | None):
    """The torch bundle of the package at ``model``: rebuilt (random test package) or loaded (trained)."""
    if checkpoint is not None:
        bundle = from_training_checkpoints(checkpoint)
        if json.loads((checkpoint / "tokenizer.json").read_text()) != json.loads(
                (model / "tokenizer.json").read_text()):
            raise AssertionError(f"{checkpoint} is not the bundle {model} was exported from (tokenizers differ)")
        return bundle
    if model.resolve() != PACKAGE.resolve():
        raise ValueError("a package other than tests/fixtures/tiny-random needs --checkpoint")
    with tempfile.TemporaryDirectory() as folder:
        return load_bundle(Path(folder))


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=PACKAGE)
    parser.add_argument("--checkpoint", type=Path, help="tools/train bundle folder of a trained package")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    manifest = json.loads((args.model / "manifest.json").read_text())
    defaults, transformer_spec = manifest["defaults"], manifest["transformer"]
    bundle = modules(args.model, args.checkpoint)
    tokenizer = WordTokenizer.load(args.model / "tokenizer.json", manifest["text"]["length"])
    text = TextEncoder(bundle.text[0].encoder).eval()
    encoder, decoder = VQEncoder(bundle.vq).eval(), VQDecoder(bundle.vq).eval()
    image = source_image("disk.png", manifest["resolution"]["width"])
    micro_conds = torch.tensor(transformer_spec["microConds"], dtype=torch.float32)
    grid = (transformer_spec["grid"]["height"], transformer_spec["grid"]["width"])
    steps = defaults["steps"]
    with torch.no_grad():
        negative = text(torch.tensor([tokenizer.encode(defaults["negativePrompt"]).ids], dtype=torch.int64))

    def edit(seed: int) -> Dict[str, float]:
        clock = {"started": time.perf_counter()}
        cpu_started = time.process_time()
        phases: Dict[str, float] = {}

        def lap(name: str) -> None:
            now = time.perf_counter()
            phases[name] = (now - clock["started"]) * 1000
            clock["started"] = now

        with torch.no_grad():
            instruction = text(torch.tensor([tokenizer.encode(INSTRUCTION).ids], dtype=torch.int64))
            context = torch.cat([negative[0], instruction[0]])
            pooled = torch.cat([negative[1], instruction[1]])
            lap("text")
            pixels = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
            ref_tokens = encoder(pixels)[0].numpy()
            lap("encode")
            step = TorchStep(bundle.transformer, context, pooled, micro_conds, math.log(defaults["gamma"]),
                             defaults["guidance"], transformer_spec["localizationBlocks"])
            result = sample(step, ref_tokens, manifest["vq"]["maskTokenId"], steps=steps,
                            temperature=tuple(defaults["temperature"]), schedule=defaults["schedule"],
                            timestep_convention=transformer_spec["timestep"], lam=LAMBDA, attention_grid=grid,
                            seed=seed)
            lap("steps")
            decoded = decoder(torch.from_numpy(result.tokens[None].astype(np.int64)))
            (decoded[0].permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
            lap("decode")
        phases["total"] = sum(phases.values())
        phases["cpu"] = (time.process_time() - cpu_started) * 1000
        return phases

    for _ in range(2):
        edit(1)
    runs: List[Dict[str, float]] = [edit(run + 2) for run in range(args.runs)]
    totals = [r["total"] for r in runs]
    result = {
        "runtime": f"torch {torch.__version__}",
        "model": str(args.model),
        "checkpoint": str(args.checkpoint) if args.checkpoint else None,
        "machine": machine(),
        "threads": args.threads,
        "runs": args.runs,
        "steps": steps,
        "settings": {"lambda": LAMBDA, "rows": "all", "instruction": INSTRUCTION, "image": "64x64 disk"},
        "edit": {"median": round(statistics.median(totals), 1), "min": round(min(totals), 1),
                 "all": [round(t, 1) for t in totals]},
        "editCpu": {"median": round(statistics.median(r["cpu"] for r in runs), 1)},
        "phasesMs": {name: round(statistics.median(r[name] for r in runs), 1)
                     for name in ("text", "encode", "steps", "decode")},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
