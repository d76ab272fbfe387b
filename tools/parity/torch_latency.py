"""Latency of a whole edit with the torch reference pipeline on the tiny-random modules, to compare with
the TypeScript pipeline on onnxruntime (bench/pipeline.bench.ts) on the same machine.

    /usr/bin/python3 -m tools.parity.torch_latency [--threads 1] [--runs 10]

One edit = what `EditPipeline.edit` does for a 64x64 source: text encoder on the instruction (the empty
negative prompt is encoded once, as the TS pipeline caches it), VQ encode, ``sample`` with ``TorchStep``
(8 steps, the package's defaults, keyword-free "all" rows, lambda 0.3 so the localization map is
computed every step), VQ decode. Prints the median and the minimum over the runs after one warm-up.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tools.editmgt.sampling import TorchStep, sample
from tools.editmgt.tokenizer import WordTokenizer
from tools.export.graphs import TextEncoder, VQDecoder, VQEncoder

from .sampler_parity import load_bundle, source_image


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        bundle = load_bundle(Path(folder))
        tokenizer = WordTokenizer.load(Path(folder) / "tokenizer.json", bundle.text_length)
    text = TextEncoder(bundle.text[0].encoder).eval()
    encoder, decoder = VQEncoder(bundle.vq).eval(), VQDecoder(bundle.vq).eval()
    image = source_image("disk.png", int(bundle.micro_conds[0]))
    micro_conds = torch.tensor(bundle.micro_conds, dtype=torch.float32)
    with torch.no_grad():
        negative = text(torch.tensor([tokenizer.encode("").ids], dtype=torch.int64))

    def edit(seed: int) -> None:
        with torch.no_grad():
            instruction = text(torch.tensor([tokenizer.encode("make the red circle blue").ids], dtype=torch.int64))
            context = torch.cat([negative[0], instruction[0]])
            pooled = torch.cat([negative[1], instruction[1]])
            pixels = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
            ref_tokens = encoder(pixels)[0].numpy()
            step = TorchStep(bundle.transformer, context, pooled, micro_conds, math.log(1.1), 2.0,
                             bundle.localization_blocks)
            grid = (ref_tokens.shape[0] // 2, ref_tokens.shape[1] // 2)
            result = sample(step, ref_tokens, bundle.transformer.config.mask_token_id, steps=8,
                            timestep_convention=bundle.timestep, lam=0.3, attention_grid=grid, seed=seed)
            decoder(torch.from_numpy(result.tokens[None].astype(np.int64)))

    edit(0)
    times = []
    for run in range(args.runs):
        started = time.perf_counter()
        edit(run + 1)
        times.append((time.perf_counter() - started) * 1000)
    print(f"torch {torch.__version__}, {args.threads} thread(s): edit median {statistics.median(times):.1f} ms, "
          f"min {min(times):.1f} ms over {args.runs} runs")


if __name__ == "__main__":
    main()
