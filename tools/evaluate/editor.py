"""A trained bundle (tools/train/bundle.py) that edits images with the torch reference sampler."""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch

from tools.editmgt.sampling import TorchStep, sample
from tools.train.bundle import load_bundle

from .rows import keyword_rows
from .settings import Setting


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 [H,W,3] -> float [1,3,H,W] in [0,1]."""
    return torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1)[None]


def to_image(pixels: torch.Tensor) -> np.ndarray:
    """float [1,3,H,W] -> uint8 [H,W,3] (clipped to [0,1], rounded), as the exported VQ decoder clips."""
    return (pixels[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


class Edit(NamedTuple):
    """Output image, the last step's localization map on the VQ grid (None without capture), lambda used."""

    image: np.ndarray
    token_map: Optional[np.ndarray]
    lam: float


class Editor:
    """Loaded VQ, transformer, text encoder and tokenizer of a bundle folder; ``blocks`` overrides the
    bundle's localization blocks (global block indices whose text attention forms the map)."""

    def __init__(self, folder: Path, blocks: Optional[Sequence[int]] = None):
        self.vq, self.transformer, self.text_encoder, self.tokenizer, self.config = load_bundle(folder)
        manifest = self.config["manifest"]
        self.micro_conds = torch.tensor(manifest["transformer"]["microConds"], dtype=torch.float32)
        self.blocks = list(blocks) if blocks else manifest["transformer"]["localizationBlocks"]
        self.timestep = manifest["transformer"]["timestep"]
        grid = manifest["transformer"]["grid"]
        self.attention_grid = (grid["height"], grid["width"])
        self.mask_id = manifest["vq"]["maskTokenId"]

    @torch.no_grad()
    def encode(self, image: np.ndarray) -> np.ndarray:
        """VQ token ids [h,w] of a uint8 image."""
        return self.vq.encode(to_tensor(image))[1][0].numpy()

    @torch.no_grad()
    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """uint8 image of token ids [h,w]."""
        return to_image(self.vq.decode(torch.from_numpy(tokens.astype(np.int64))[None]))

    @torch.no_grad()
    def edit(self, image: np.ndarray, instruction: str, setting: Setting, negative_prompt: str = "") -> Edit:
        """One edit: row 0 = negative prompt, row 1 = instruction, as the product's pipeline does."""
        ids = torch.tensor([self.tokenizer.encode(negative_prompt).ids, self.tokenizer.encode(instruction).ids])
        context, pooled = self.text_encoder(ids)
        step = TorchStep(self.transformer, context, pooled, self.micro_conds, math.log(setting.gamma),
                         setting.guidance, self.blocks)
        rows = keyword_rows(instruction, self.tokenizer.length) if setting.rows == "keywords" else "all"
        result = sample(step, self.encode(image), self.mask_id, steps=setting.steps,
                        temperature=(setting.temperature, 0.0), timestep_convention=self.timestep,
                        lam=setting.lam, attention_grid=self.attention_grid, rows=rows, seed=setting.seed)
        return Edit(self.decode(result.tokens), result.token_map, result.lam)
