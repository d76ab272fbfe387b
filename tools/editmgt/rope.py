"""Interleaved multi-axis rotary position embedding (diffusers ``FluxPosEmbed`` + ``apply_rotary_emb``).

Position ids are (0, row, col) for image tokens of the transformer grid and (0, 0, 0) for text tokens, so
text tokens get the identity rotation. Tables are built in float64 and rounded to float32 (as upstream);
they are plain constants (numpy), so an ONNX export embeds them instead of tracing their computation.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import torch

ROPE_THETA = 10000.0


def image_position_ids(height: int, width: int) -> np.ndarray:
    """Ids [height*width, 3] = (0, row, col), row-major."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return np.stack([np.zeros_like(rows), rows, cols], axis=-1).reshape(-1, 3).astype(np.float64)


def rope_tables(ids: np.ndarray, axes_dims: Sequence[int], theta: float = ROPE_THETA) -> Tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin) float32 [L, sum(axes_dims)] of ids [L, n_axes]; each frequency repeated twice (interleaved)."""
    cos_parts, sin_parts = [], []
    for axis, dim in enumerate(axes_dims):
        freqs = 1.0 / theta ** (np.arange(0, dim, 2, dtype=np.float64)[: dim // 2] / dim)
        angles = np.outer(ids[:, axis].astype(np.float32).astype(np.float64), freqs)
        cos_parts.append(np.repeat(np.cos(angles), 2, axis=1))
        sin_parts.append(np.repeat(np.sin(angles), 2, axis=1))
    cos = np.concatenate(cos_parts, axis=1).astype(np.float32)
    sin = np.concatenate(sin_parts, axis=1).astype(np.float32)
    return torch.from_numpy(cos), torch.from_numpy(sin)


def text_image_rope(
    text_len: int, grid_height: int, grid_width: int, axes_dims: Sequence[int]
) -> Tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin) [text_len + h*w, head_dim] for the sequence [text | image]; text ids are all zero."""
    ids = np.concatenate([np.zeros((text_len, 3)), image_position_ids(grid_height, grid_width)], axis=0)
    return rope_tables(ids, axes_dims)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate interleaved pairs of x [B,heads,L,d]: ``x*cos + (-x1, x0)*sin``, computed in float32."""
    real, imag = x.reshape(*x.shape[:-1], -1, 2).unbind(-1)
    rotated = torch.stack([-imag, real], dim=-1).flatten(3)
    return (x.float() * cos + rotated.float() * sin).to(x.dtype)
