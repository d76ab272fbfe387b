"""Building blocks of the EditMGT transformer with diffusers' parameter names and numerics.

Every module here keeps upstream's attribute names (``linear``, ``linear_1``, ``net.0.proj`` ...) so that
state_dict keys match the released checkpoint; the maths follows diffusers 0.32.1 (the version EditMGT pins).
"""

from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

NORM_EPS = 1e-6


class RMSNorm(nn.Module):
    """diffusers ``RMSNorm``: ``x * rsqrt(mean(x^2) + eps) * weight`` over the last axis, variance in fp32.

    ``channels_first`` marks norms that upstream applies to a permuted NCHW tensor: the fp32 variance is
    then summed in that memory order, which reproduces upstream's rounding (visible in float64 parity).
    """

    def __init__(self, dim: int, eps: float = NORM_EPS, channels_first: bool = False):
        super().__init__()
        self.eps = eps
        self.channels_first = channels_first
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        source = x.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1) if self.channels_first else x
        variance = source.to(torch.float32).pow(2).mean(-1, keepdim=True)
        normed = x * torch.rsqrt(variance + self.eps)
        return normed.to(self.weight.dtype) * self.weight


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the last axis without affine parameters (eps 1e-6), as the AdaLN norms use.

    The explicit unit scale keeps torch 1.13's opset-17 export valid (it emits an empty scale otherwise).
    """
    dim = x.shape[-1]
    return F.layer_norm(x, (dim,), torch.ones(dim, dtype=x.dtype), eps=NORM_EPS)


class AdaLayerNormZero(nn.Module):
    """AdaLN-Zero of a double block: SiLU(temb) -> 6 modulations; returns the modulated x and the other 5."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear = nn.Linear(dim, 6 * dim)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.linear(F.silu(temb)).chunk(6, dim=1)
        return layer_norm(x) * (1 + scale_msa[:, None]) + shift_msa[:, None], gate_msa, shift_mlp, scale_mlp, gate_mlp


class AdaLayerNormZeroSingle(nn.Module):
    """AdaLN-Zero of a single block: SiLU(temb) -> (shift, scale, gate); returns (modulated x, gate)."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear = nn.Linear(dim, 3 * dim)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        shift, scale, gate = self.linear(F.silu(temb)).chunk(3, dim=1)
        return layer_norm(x) * (1 + scale[:, None]) + shift[:, None], gate


class GeluProjection(nn.Module):
    """diffusers ``GELU(approximate="tanh")`` activation layer: a projection followed by tanh-GELU."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.proj(x), approximate="tanh")


class FeedForward(nn.Module):
    """diffusers ``FeedForward(activation_fn="gelu-approximate")``: ``net.0.proj`` -> GELU -> ``net.2``."""

    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        self.net = nn.ModuleList([GeluProjection(dim, dim * mult), nn.Identity(), nn.Linear(dim * mult, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


def sinusoidal_embedding(values: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """diffusers ``get_timestep_embedding(flip_sin_to_cos=True, downscale_freq_shift=0)`` in float32.

    Returns ``[cos(v * f_k) | sin(v * f_k)]`` with ``f_k = exp(-ln(max_period) * k / (dim/2))``, k < dim/2.
    """
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32) / half
    angles = values.reshape(-1, 1).float() * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class TimestepEmbedding(nn.Module):
    """diffusers ``TimestepEmbedding``: ``linear_1`` -> SiLU -> ``linear_2``."""

    def __init__(self, in_dim: int, dim: int, bias: bool = True):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim, bias=bias)
        self.linear_2 = nn.Linear(dim, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


class CombinedTimestepTextProjEmbeddings(nn.Module):
    """temb = MLP_t(sinusoid(t)) + MLP_text(pooled), as diffusers ``CombinedTimestepTextProjEmbeddings``.

    ``timestep`` is the value fed to the sinusoid (upstream passes step * 1000); the sinusoid is float32.
    """

    def __init__(self, dim: int, pooled_dim: int, sinusoid_dim: int = 256):
        super().__init__()
        self.sinusoid_dim = sinusoid_dim
        self.timestep_embedder = TimestepEmbedding(sinusoid_dim, dim)
        self.text_embedder = TimestepEmbedding(pooled_dim, dim)

    def forward(self, timestep: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        sinusoid = sinusoidal_embedding(timestep, self.sinusoid_dim).to(pooled.dtype)
        return self.timestep_embedder(sinusoid) + self.text_embedder(pooled)


def patch_downsample(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Stride-2 2x2 conv (no bias) of channels-last x [B,H,W,C] with conv weight [O,C,2,2] -> [B,H/2,W/2,O].

    Same result as ``F.conv2d(x_nchw, weight, stride=2)`` (and as upstream's pad-then-conv on even sizes),
    written as reshape + matmul, which is much faster on CPU and exports to plain MatMul.
    """
    batch, height, width, channels = x.shape
    patches = x.reshape(batch, height // 2, 2, width // 2, 2, channels).permute(0, 1, 3, 5, 2, 4)
    patches = patches.reshape(batch, height // 2, width // 2, channels * 4)
    return patches @ weight.reshape(weight.shape[0], channels * 4).t()


def patch_upsample(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Stride-2 2x2 transposed conv (no bias) of channels-last x [B,h,w,C], weight [C,O,2,2] -> [B,2h,2w,O].

    Same result as ``F.conv_transpose2d(x_nchw, weight, stride=2)``, written as matmul + reshape.
    """
    batch, height, width, channels = x.shape
    out_channels = weight.shape[1]
    pixels = (x @ weight.reshape(channels, out_channels * 4)).reshape(batch, height, width, out_channels, 2, 2)
    return pixels.permute(0, 1, 4, 2, 5, 3).reshape(batch, height * 2, width * 2, out_channels)


def pointwise_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A 1x1 conv (no bias) applied to channels-last x [..., C] as a matmul."""
    return x @ conv.weight.reshape(conv.weight.shape[0], -1).t()
