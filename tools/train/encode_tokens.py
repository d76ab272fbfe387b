"""Encode every training pair with the trained VQ: source/target token grids and edit token masks.

Usage: python3 -m tools.train.encode_tokens --data runs/data --vq runs/vq/final.pt --out runs/tokens
Writes source.npy, target.npy [N,h,w] int16, edit.npy [N,h,w] bool, stats.json (share of tokens outside
edits whose ids differ between source and target: the VQ locality figure).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from tools.train.common import load_pairs, set_threads, to_pixels, token_mask
from tools.editmgt.configs import vq_config
from tools.editmgt.vq import VQModel


def load_vq(path: Path) -> VQModel:
    """The VQ model of a final.pt written by train_vq.py, in eval mode."""
    state = torch.load(path)
    vq = VQModel(vq_config(state["vq_config"]))
    vq.load_state_dict(state["model"])
    return vq.eval()


@torch.no_grad()
def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--vq", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    set_threads()
    source, target, mask, _ = load_pairs(args.data)
    vq = load_vq(args.vq)
    grid = source.shape[1] // vq.config.downsample_factor
    args.out.mkdir(parents=True, exist_ok=True)
    shape = (len(source), grid, grid)
    arrays = {
        name: np.lib.format.open_memmap(args.out / f"{name}.npy.tmp", "w+", np.int16, shape)
        for name in ("source", "target")
    }
    edit = np.zeros(shape, dtype=bool)
    changed, outside = 0, 0
    for start in range(0, len(source), args.batch):
        stop = min(start + args.batch, len(source))
        _, src_ids = vq.encode(to_pixels(source[start:stop]))
        _, tgt_ids = vq.encode(to_pixels(target[start:stop]))
        arrays["source"][start:stop] = src_ids.numpy()
        arrays["target"][start:stop] = tgt_ids.numpy()
        edit[start:stop] = token_mask(np.asarray(mask[start:stop]))
        keep = ~torch.from_numpy(edit[start:stop])
        changed += ((src_ids != tgt_ids) & keep).sum().item()
        outside += keep.sum().item()
    for name, array in arrays.items():
        array.flush()
        (args.out / f"{name}.npy.tmp").rename(args.out / f"{name}.npy")
    np.save(args.out / "edit.npy", edit)
    stats = {"pairs": len(source), "codebook_size": vq.config.num_vq_embeddings, "grid": grid,
             "changed_outside": changed / max(outside, 1)}
    (args.out / "stats.json").write_text(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
