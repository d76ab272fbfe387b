"""Small text encoder of the tiny model: token ids [B,T] -> context states [B,T,D] and a pooled vector [B,P].

It stands in for the real model's two encoders (Gemma-2 hidden states for context, CLIP pooled) and is
trained jointly with the transformer. Pre-norm transformer layers over learned token + position
embeddings; [PAD] keys get a large negative attention bias (not -inf, so the all-padding empty prompt
stays finite); pooled = a projection of the mean over non-padding positions (zeros for the empty prompt).
Built from plain ops only, so it exports to ONNX opset 17 as is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

PAD_BIAS = -1e4


@dataclass
class TextEncoderConfig:
    """Dimensions of the text encoder."""

    vocab_size: int = 64
    length: int = 16
    width: int = 64
    layers: int = 2
    heads: int = 4
    pooled_dim: int = 64
    pad_token_id: int = 0


class TextEncoderLayer(nn.Module):
    """Pre-norm self-attention + GELU MLP with residuals."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        """x [B,T,W], key_bias [B,1,1,T] (0 or PAD_BIAS) -> [B,T,W]."""
        batch, length, width = x.shape
        head_dim = width // self.heads
        qkv = self.qkv(self.norm1(x)).reshape(batch, length, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(-1, -2) * head_dim**-0.5 + key_bias
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, width)
        x = x + self.out(attended)
        return x + self.mlp(self.norm2(x))


class TextEncoder(nn.Module):
    """input_ids [B,T] int64 (right-padded with pad_token_id) -> (context [B,T,W], pooled [B,P])."""

    def __init__(self, config: TextEncoderConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.width)
        self.position_embedding = nn.Parameter(torch.zeros(config.length, config.width))
        nn.init.normal_(self.position_embedding, std=0.02)
        self.layers = nn.ModuleList(TextEncoderLayer(config.width, config.heads) for _ in range(config.layers))
        self.final_norm = nn.LayerNorm(config.width)
        self.pooled_projection = nn.Linear(config.width, config.pooled_dim)

    def forward(self, input_ids: torch.Tensor):
        """(context [B,T,W], pooled [B,P]); T must equal config.length."""
        keep = (input_ids != self.config.pad_token_id).to(self.position_embedding.dtype)
        key_bias = ((1.0 - keep) * PAD_BIAS)[:, None, None, :]
        x = self.token_embedding(input_ids) + self.position_embedding[None]
        for layer in self.layers:
            x = layer(x, key_bias)
        context = self.final_norm(x)
        mean = (context * keep[:, :, None]).sum(1) / keep.sum(1, keepdim=True).clamp_min(1.0)
        return context, self.pooled_projection(mean)
