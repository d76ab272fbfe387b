"""Collect a finished training run into one folder the exporter reads, and load it back.

Usage: python3 -m tools.train.bundle --runs runs --out runs/tiny
Writes OUT/vq.pt, OUT/model.pt (transformer + text encoder), OUT/tokenizer.json and OUT/config.json
(every config plus the values the manifest needs and the measured figures).

    from tools.train.bundle import load_bundle
    vq, transformer, text_encoder, tokenizer, config = load_bundle("runs/tiny")
"""

import argparse
import json
from pathlib import Path
import shutil

import torch

from tools.editmgt.configs import transformer_config, vq_config
from tools.editmgt.text_encoder import TextEncoder, TextEncoderConfig
from tools.editmgt.tokenizer import PAD_ID, WordTokenizer
from tools.editmgt.transformer import Transformer2DModel
from tools.editmgt.vq import VQModel

IMAGE_SIZE = 64


def bundle(runs: Path, out: Path, transformer_file: str = "final.pt") -> dict:
    """Copy the final VQ, transformer, text encoder and tokenizer of `runs` into `out`; returns config.json.

    transformer_file "checkpoint.pt" bundles the latest checkpoint of a run still training (a preview).
    """
    out.mkdir(parents=True, exist_ok=True)
    vq_state = torch.load(runs / "vq" / "final.pt")
    model_state = torch.load(runs / "transformer" / transformer_file)
    spec = model_state["spec"]
    torch.save({"model": vq_state["model"], "vq_config": vq_state["vq_config"]}, out / "vq.pt")
    torch.save(
        {"transformer": model_state["transformer"], "text_encoder": model_state["text_encoder"], "spec": spec},
        out / "model.pt",
    )
    shutil.copyfile(runs / "transformer" / "tokenizer.json", out / "tokenizer.json")
    vq_cfg = vq_config(vq_state["vq_config"])
    t_cfg = transformer_config(spec["transformer_config"])
    grid = IMAGE_SIZE // vq_cfg.downsample_factor
    config = {
        "resolution": {"width": IMAGE_SIZE, "height": IMAGE_SIZE},
        "vq_config": vq_state["vq_config"],
        "transformer_config": spec["transformer_config"],
        "text_config": spec["text_config"],
        "manifest": {
            "vq": {"grid": {"height": grid, "width": grid}, "codebookSize": vq_cfg.num_vq_embeddings,
                   "maskTokenId": t_cfg.mask_token_id},
            "transformer": {"grid": {"height": grid // 2, "width": grid // 2}, "timestep": spec["timestep"],
                            "microConds": spec["micro_conds"], "localizationBlocks": spec["localization_blocks"]},
            "text": {"length": spec["text_config"]["length"], "contextDim": spec["text_config"]["width"],
                     "pooledDim": spec["text_config"]["pooled_dim"], "padTokenId": PAD_ID},
        },
        "figures": {
            "vq": json.loads((runs / "vq" / "metrics.json").read_text()),
            "tokens": json.loads((runs / "tokens" / "stats.json").read_text()),
            "transformer": {k: v for k, v in model_state.items() if k.startswith("val_") or k == "step"},
        },
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return config


def load_bundle(folder):
    """(vq, transformer, text_encoder, tokenizer, config) of a bundle folder, models in eval mode."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    vq_state = torch.load(folder / "vq.pt")
    vq = VQModel(vq_config(vq_state["vq_config"]))
    vq.load_state_dict(vq_state["model"])
    model_state = torch.load(folder / "model.pt")
    transformer = Transformer2DModel(transformer_config(model_state["spec"]["transformer_config"]))
    transformer.load_state_dict(model_state["transformer"])
    text_encoder = TextEncoder(TextEncoderConfig(**model_state["spec"]["text_config"]))
    text_encoder.load_state_dict(model_state["text_encoder"])
    tokenizer = WordTokenizer.load(folder / "tokenizer.json")
    return vq.eval(), transformer.eval(), text_encoder.eval(), tokenizer, config


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--transformer-file", default="final.pt", help="checkpoint.pt for a preview of a live run")
    args = parser.parse_args()
    print(json.dumps(bundle(args.runs, args.out, args.transformer_file)["figures"], indent=2))


if __name__ == "__main__":
    main()
