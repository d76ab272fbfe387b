"""Which transformer blocks' text->image attention localizes the edit (the manifest's ``localizationBlocks``).

    /usr/bin/python3 -m tools.evaluate.blocks --bundle runs/tiny [--per-type 8]

For each non-background case, one forward pass in two states: every token masked (the first step) and
the ground-truth target known except its edit tokens (a late step). Prints the localization IoU (map of
one block, keyword or all rows, threshold 0.5) against the ground-truth token mask, per block and state.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from tools.data.metrics import localization_iou, token_mask
from tools.editmgt.localization import localization_map

from .editor import Editor
from .rows import keyword_rows
from .run import load_cases, load_png


@torch.no_grad()
def block_ious(editor: Editor, eval_dir: Path, cases, gamma: float = 1.1) -> dict:
    """{(block, rows, state): mean IoU} over the cases."""
    blocks = list(range(editor.transformer.block_count))
    scores = {}
    for case in cases:
        mask = load_png(eval_dir / case["mask"]) > 127
        ref = editor.encode(load_png(eval_dir / case["source"]))
        target = editor.encode(load_png(eval_dir / case["target"]))
        ids = torch.tensor([editor.tokenizer.encode("").ids, editor.tokenizer.encode(case["instruction"]).ids])
        context, pooled = editor.text_encoder(ids)
        states = {"first step": np.full_like(target, editor.mask_id),
                  "late step": np.where(token_mask(mask), editor.mask_id, target)}
        for state, tokens in states.items():
            _, attention = editor.transformer(
                torch.from_numpy(tokens)[None].expand(2, -1, -1), torch.from_numpy(ref)[None].expand(2, -1, -1),
                context, pooled, editor.micro_conds, torch.tensor([float((tokens == editor.mask_id).mean())]),
                torch.tensor(math.log(gamma)), capture_blocks=blocks)
            for b in blocks:
                for rows in ("keywords", "all"):
                    selected = keyword_rows(case["instruction"], editor.tokenizer.length) if rows == "keywords" else "all"
                    _, token_map = localization_map(attention[1, b].mean(0).numpy(), editor.attention_grid,
                                                    token_mask(mask).shape, selected)
                    scores.setdefault((b, rows, state), []).append(localization_iou(token_map, mask, 0.5))
    return {key: float(np.mean(values)) for key, values in scores.items()}


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=Path("runs/tiny"))
    parser.add_argument("--eval", type=Path, default=Path("models/editmgt-tiny/eval"))
    parser.add_argument("--per-type", type=int, default=8)
    args = parser.parse_args()
    editor = Editor(args.bundle)
    cases = [c for c in load_cases(args.eval, args.per_type) if c["type"] != "background"]
    scores = block_ious(editor, args.eval, cases)
    print(f"{len(cases)} cases; IoU at 0.5 (manifest blocks {editor.blocks})")
    for (block, rows, state), value in sorted(scores.items()):
        print(f"block {block} {rows:8s} {state:10s} {value:.3f}")


if __name__ == "__main__":
    main()
