"""Precompute the training pairs as uint8 .npy arrays plus one JSON line of metadata per pair.

Usage: python3 -m tools.data.build_train OUT_DIR [--count N] [--seed S]
Writes OUT_DIR/source.npy, target.npy [N,H,W,3] uint8, mask.npy [N,H,W] bool, meta.jsonl, done.json.
"""

import argparse
import json
from pathlib import Path
import time

import numpy as np

from .domain import IMAGE_SIZE
from .generator import sample_pair

TRAIN_SEED = 1234
"""Seed of the training split. The evaluation set uses a different seed (see eval_set.py)."""


def build(out_dir: Path, count: int, seed: int) -> None:
    """Generate `count` training pairs (no held-out combination or phrasing) into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shape = (count, IMAGE_SIZE, IMAGE_SIZE)
    source = np.lib.format.open_memmap(out_dir / "source.npy", "w+", np.uint8, shape + (3,))
    target = np.lib.format.open_memmap(out_dir / "target.npy", "w+", np.uint8, shape + (3,))
    mask = np.lib.format.open_memmap(out_dir / "mask.npy", "w+", np.bool_, shape)
    rng = np.random.default_rng(seed)
    start = time.time()
    with open(out_dir / "meta.jsonl", "w") as meta:
        for i in range(count):
            pair = sample_pair(rng)
            source[i], target[i], mask[i] = pair.source, pair.target, pair.mask
            meta.write(json.dumps({"instruction": pair.plan.instruction, "type": pair.plan.edit_type}) + "\n")
    source.flush(), target.flush(), mask.flush()
    elapsed = time.time() - start
    (out_dir / "done.json").write_text(json.dumps({"count": count, "seed": seed, "seconds": round(elapsed, 1)}))


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=40000)
    parser.add_argument("--seed", type=int, default=TRAIN_SEED)
    args = parser.parse_args()
    build(args.out_dir, args.count, args.seed)


if __name__ == "__main__":
    main()
