"""Evaluate a trained tiny-model bundle on the evaluation set with the torch reference sampler.

Usage: python3 tools/train/evaluate.py --bundle runs/tiny --out runs/eval/g2.json [--guidance 2 --gamma 1.1
       --lam 0 --steps 12 --per-type 64 --grid runs/eval/g2.png]

Per case: VQ-encode the source, sample with the instruction (row 1) and the empty prompt (row 0), decode,
then the metrics of tools/data/METRICS.md against the ground truth; also the VQ ceiling (the metrics of
the VQ reconstruction of the ground-truth target: no sampler can do better through this VQ).
"""

import argparse
import json
import math
from pathlib import Path
import time

import numpy as np
import torch
from PIL import Image

from bundle import load_bundle
from common import set_threads
from data.domain import COLORS, POSITIONS, SHAPES
from data.metrics import evaluate_case, localization_iou, summarize
from editmgt.sampling import TorchStep, sample

FOCUS_WORDS = set(COLORS) | set(SHAPES) | {"background"} | {w for p in POSITIONS for w in p.split()}
"""Instruction words whose text rows make up the localization map (edit verbs and stop words dropped)."""


def load_png(path: Path) -> np.ndarray:
    """uint8 array of a PNG."""
    return np.asarray(Image.open(path))


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 [H,W,3] -> float [1,3,H,W] in [0,1]."""
    return torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1)[None]


def to_image(pixels: torch.Tensor) -> np.ndarray:
    """float [1,3,H,W] -> uint8 [H,W,3] (clipped, rounded)."""
    return (pixels[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


class Editor:
    """A loaded bundle that edits images with the reference sampler."""

    def __init__(self, folder: Path):
        self.vq, self.transformer, self.text_encoder, self.tokenizer, self.config = load_bundle(folder)
        manifest = self.config["manifest"]
        self.micro = torch.tensor(manifest["transformer"]["microConds"], dtype=torch.float32)
        self.blocks = manifest["transformer"]["localizationBlocks"]
        grid = manifest["transformer"]["grid"]
        self.attention_grid = (grid["height"], grid["width"])
        self.mask_id = manifest["vq"]["maskTokenId"]

    @torch.no_grad()
    def encode(self, image: np.ndarray) -> np.ndarray:
        """VQ token ids [h,w] of an image."""
        return self.vq.encode(to_tensor(image))[1][0].numpy()

    @torch.no_grad()
    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """Image of token ids [h,w]."""
        return to_image(self.vq.decode(torch.from_numpy(tokens.astype(np.int64))[None]))

    @torch.no_grad()
    def edit(self, image: np.ndarray, instruction: str, steps: int, guidance: float, gamma: float, lam: float,
             seed: int, temperature=(2.0, 0.0)):
        """(output image, token-grid localization map or None) of one edit."""
        encoding = self.tokenizer.encode(instruction)
        ids = torch.tensor([self.tokenizer.encode("").ids, encoding.ids])
        context, pooled = self.text_encoder(ids)
        rows = [i for i, token in enumerate(encoding.tokens) if token in FOCUS_WORDS] or "all"
        step = TorchStep(self.transformer, context, pooled, self.micro, math.log(gamma), guidance, self.blocks)
        result = sample(step, self.encode(image), self.mask_id, steps=steps, temperature=tuple(temperature),
                        timestep_convention="mask-ratio",
                        lam=lam, attention_grid=self.attention_grid, rows=rows, seed=seed)
        return self.decode(result.tokens), result.token_map


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, default=Path("runs/tiny"))
    parser.add_argument("--eval", type=Path, default=Path("models/editmgt-tiny/eval"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--guidance", type=float, default=2.0)
    parser.add_argument("--gamma", type=float, default=1.1)
    parser.add_argument("--lam", type=float, default=0.0)
    parser.add_argument("--per-type", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, nargs=2, default=[2.0, 0.0], help="Gumbel linspace start end")
    parser.add_argument("--types", nargs="*", help="only these edit types")
    parser.add_argument("--grid", type=Path, help="PNG of source | ground truth | output rows (first 36 cases)")
    args = parser.parse_args()
    set_threads()
    editor = Editor(args.bundle)
    index = json.loads((args.eval / "index.json").read_text())
    taken, rows, grid_rows = {}, [], []
    start = time.time()
    for case in index["cases"]:
        if args.types and case["type"] not in args.types:
            continue
        group = (case["type"], case["held_out"])
        taken[group] = taken.get(group, 0) + 1
        share = 0.375 if case["held_out"] else 0.625  # the set's 24 held-out / 40 in-distribution per type
        if taken[group] > max(1, round(args.per_type * share)):
            continue
        source, target = load_png(args.eval / case["source"]), load_png(args.eval / case["target"])
        mask = load_png(args.eval / case["mask"]) > 127
        output, token_map = editor.edit(source, case["instruction"], args.steps, args.guidance, args.gamma,
                                        args.lam, args.seed, args.temperature)
        result = evaluate_case(output, source, target, mask, case["type"], case["key_color"])
        ceiling = evaluate_case(editor.decode(editor.encode(target)), source, target, mask, case["type"],
                                case["key_color"])
        result["vq_ceiling_success"] = ceiling["success"]
        if token_map is not None:
            result["localization_iou"] = localization_iou(token_map, mask, args.lam if args.lam > 0 else 0.5)
        rows.append({"id": case["id"], "type": case["type"], "held_out": case["held_out"], **result})
        if args.grid is not None and len(grid_rows) < 36 and int(case["id"]) % 9 == 0:
            grid_rows.append(np.concatenate([source, target, output], axis=1))
    summary = summarize(rows)
    settings = {k: getattr(args, k) for k in ("steps", "guidance", "gamma", "lam", "seed", "per_type", "temperature")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": settings, "seconds": round(time.time() - start, 1),
                                    "summary": summary, "cases": rows}, indent=1) + "\n")
    if grid_rows:
        columns = [np.concatenate(grid_rows[i : i + 12], axis=0) for i in range(0, len(grid_rows), 12)]
        height = max(c.shape[0] for c in columns)
        columns = [np.pad(c, ((0, height - c.shape[0]), (0, 8), (0, 0)), constant_values=255) for c in columns]
        Image.fromarray(np.concatenate(columns, axis=1)).resize(
            (sum(c.shape[1] for c in columns) * 2, height * 2), Image.NEAREST).save(args.grid)
    for key, s in summary.items():
        print(f"{key:12s} n={s['count']:3d} success={s['success']:.2f} strict={s['strict_success']:.2f} "
              f"leak={s['leakage']:.1f} fid={s['fidelity']:.1f} ceiling={s['vq_ceiling_success']:.2f}")


if __name__ == "__main__":
    main()
