"""Write the evaluation set: source, ground-truth target and edit-mask PNGs plus one index.json.

Usage: python3 -m tools.data.eval_set OUT_DIR   ( default counts: 64 cases per edit type, 24 held out)
       python3 -m tools.data.eval_set models/editmgt-tiny/eval-test --seed 20261202   (the test set)

The seed differs from the training seed, so no case is a training pair; held-out cases use a held-out
combination or the held-out phrasing of their edit type (see domain.py).
"""

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from .domain import EDIT_TYPES, IMAGE_SIZE
from .generator import EditPlan, render_plan, sample_plan

EVAL_SEED = 20261126
"""Seed of the development set (models/editmgt-tiny/eval, where defaults are chosen); the training
split uses build_train.TRAIN_SEED."""

TEST_SEED = 20261202
"""Seed of the test set (models/editmgt-tiny/eval-test, only reported), never used before it."""


def key_color(plan: EditPlan) -> str:
    """The palette colour whose shape the success metric compares (see metrics.evaluate_case)."""
    if plan.edit_type in ("recolor", "add", "replace"):
        return plan.target_object.color
    if plan.edit_type == "remove":
        return plan.source.background
    return plan.target.background


def _save_png(path: Path, pixels: np.ndarray) -> None:
    Image.fromarray(pixels).save(path, optimize=True)


def write(out_dir: Path, per_type: int, held_out_per_type: int, seed: int) -> dict:
    """Generate the cases into `out_dir` (cases/NNNN_{source,target,mask}.png, index.json); returns the index."""
    cases_dir = out_dir / "cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cases = []
    for edit_type in EDIT_TYPES:
        for i in range(per_type):
            plan = sample_plan(rng, edit_type, held_out=i < held_out_per_type)
            pair = render_plan(plan)
            case_id = f"{len(cases):04d}"
            files = {}
            for name, pixels in (("source", pair.source), ("target", pair.target),
                                 ("mask", pair.mask.astype(np.uint8) * 255)):
                files[name] = f"cases/{case_id}_{name}.png"
                _save_png(out_dir / files[name], pixels)
            cases.append({
                "id": case_id,
                "type": edit_type,
                "instruction": plan.instruction,
                "held_out": plan.held_out_combo or plan.held_out_phrasing,
                "held_out_combo": plan.held_out_combo,
                "held_out_phrasing": plan.held_out_phrasing,
                "key_color": key_color(plan),
                **files,
            })
    index = {
        "format": "editmgt-eval/1",
        "domain": "procedural shapes editing (tools/data)",
        "seed": seed,
        "resolution": {"width": IMAGE_SIZE, "height": IMAGE_SIZE},
        "metrics": "tools/data/METRICS.md",
        "cases": cases,
    }
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return index


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--per-type", type=int, default=64)
    parser.add_argument("--held-out-per-type", type=int, default=24)
    parser.add_argument("--seed", type=int, default=EVAL_SEED)
    args = parser.parse_args()
    index = write(args.out_dir, args.per_type, args.held_out_per_type, args.seed)
    print(f"{len(index['cases'])} cases written to {args.out_dir}")


if __name__ == "__main__":
    main()
