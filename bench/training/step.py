"""Seconds per training step of the tiny transformer (batch 32, the shipped recipe's shapes) under this
process's thread settings. Needs a token run (runs/tokens, runs/data from tools/train/run.sh).

    EDITMGT_THREADS=1 /usr/bin/python3 -m bench.training.step runs
    EDITMGT_THREADS=2 /usr/bin/python3 -m bench.training.step runs

Prints the median of the timed steps (the first two are warm-up). The weights are fresh: only the time counts.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from tools.train import train_transformer as recipe
from tools.train.common import set_threads
from tools.data.domain import vocabulary


def main() -> None:
    """Time ``STEPS`` (default 12) training steps (``train_step``) on real training batches."""
    runs = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    set_threads(default=1)
    tokenizer = recipe.WordTokenizer(vocabulary())
    data = recipe.PairTokens(runs / "tokens", runs / "data", tokenizer)
    codebook_size = int(json.loads((runs / "tokens" / "stats.json").read_text())["codebook_size"])
    transformer, text_encoder = recipe.build_models(recipe.model_spec(codebook_size, tokenizer.vocab_size))
    optimizer = torch.optim.AdamW(list(transformer.parameters()) + list(text_encoder.parameters()), lr=1e-4)
    times = []
    for step in range(int(os.environ.get("STEPS", "12"))):
        rng = np.random.default_rng(step)
        batch = data.batch(rng.choice(data.count, 32, replace=False))
        masks = recipe.sample_masks(rng, batch["edit"], 0.5)
        start = time.perf_counter()
        recipe.train_step(transformer, text_encoder, optimizer, batch, masks, transformer.config.mask_token_id)
        times.append(time.perf_counter() - start)
    print(f"torch threads {torch.get_num_threads()}: {np.median(times[2:]):.3f} s per step "
          f"(median of {len(times) - 2})")


if __name__ == "__main__":
    main()
