"""VQ image tokenizer with diffusers ``VQModel`` parameter names (the aMUSEd/Meissonic VQ-GAN).

The module tree (``encoder``, ``quant_conv``, ``quantize.embedding``, ``post_quant_conv``, ``decoder``)
mirrors diffusers' ``VQModel`` with ``DownEncoderBlock2D``/``UpDecoderBlock2D`` blocks, group norms and a
mid block without attention, so a real ``vqvae`` checkpoint loads with ``strict=True``.

Pixels are RGB in [0, 1] (not normalized), as upstream EditMGT feeds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

GROUP_NORM_EPS = 1e-6


@dataclass
class VQConfig:
    """Dimensions of a VQ model; ``amused`` values are the released ones (146,244,675 parameters)."""

    block_out_channels: List[int] = field(default_factory=lambda: [128, 256, 256, 512, 768])
    layers_per_block: int = 2
    latent_channels: int = 64
    num_vq_embeddings: int = 8192
    norm_num_groups: int = 32
    """Groups of every group norm; 0 normalizes each position over its channels instead (a norm over the
    whole image makes tokens depend on far pixels)."""
    encoder: str = "conv"
    """``conv``: diffusers' encoder; ``patch``: each token computed from its own f x f pixel patch only."""
    in_channels: int = 3
    out_channels: int = 3
    commitment_beta: float = 0.25

    @property
    def downsample_factor(self) -> int:
        """Pixels per token along one side (2 ** (number of blocks - 1))."""
        return 2 ** (len(self.block_out_channels) - 1)


class ChannelNorm(nn.Module):
    """Per-position layer norm over channels of [B,C,H,W], with GroupNorm's parameter names (local in space)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        centred = x - mean
        scale = torch.rsqrt((centred * centred).mean(1, keepdim=True) + GROUP_NORM_EPS)
        return centred * scale * self.weight[:, None, None] + self.bias[:, None, None]


def group_norm(groups: int, channels: int) -> nn.Module:
    """``GroupNorm(groups, channels)``, or a per-position ``ChannelNorm`` when ``groups`` is 0."""
    return nn.GroupNorm(groups, channels, eps=GROUP_NORM_EPS) if groups > 0 else ChannelNorm(channels)


class ResnetBlock(nn.Module):
    """diffusers ``ResnetBlock2D`` without time embedding: norm-act-conv twice plus a (1x1) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, groups: int):
        super().__init__()
        self.norm1 = group_norm(groups, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(groups, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        shortcut = x if self.conv_shortcut is None else self.conv_shortcut(x)
        return shortcut + h


class Downsample(nn.Module):
    """diffusers ``Downsample2D(padding=0)``: pad right/bottom by one, then a 3x3 stride-2 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """diffusers ``Upsample2D``: nearest-neighbour x2, then a 3x3 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class EncoderBlock(nn.Module):
    """diffusers ``DownEncoderBlock2D``: resnets, then an optional downsampler."""

    def __init__(self, in_channels: int, out_channels: int, num_layers: int, groups: int, downsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock(in_channels if i == 0 else out_channels, out_channels, groups) for i in range(num_layers)
        )
        self.downsamplers = nn.ModuleList([Downsample(out_channels)]) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
        return x


class DecoderBlock(nn.Module):
    """diffusers ``UpDecoderBlock2D``: resnets, then an optional upsampler."""

    def __init__(self, in_channels: int, out_channels: int, num_layers: int, groups: int, upsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock(in_channels if i == 0 else out_channels, out_channels, groups) for i in range(num_layers)
        )
        self.upsamplers = nn.ModuleList([Upsample(out_channels)]) if upsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class MidBlock(nn.Module):
    """diffusers ``UNetMidBlock2D`` with ``add_attention=False`` (as aMUSEd): two resnets."""

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock(channels, channels, groups), ResnetBlock(channels, channels, groups)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        return x


class Encoder(nn.Module):
    """Pixels [B,3,H,W] -> latents [B,latent,H/f,W/f] (diffusers ``Encoder`` with ``double_z=False``)."""

    def __init__(self, config: VQConfig):
        super().__init__()
        channels = config.block_out_channels
        groups = config.norm_num_groups
        self.conv_in = nn.Conv2d(config.in_channels, channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            EncoderBlock(
                channels[max(i - 1, 0)], channels[i], config.layers_per_block, groups, downsample=i < len(channels) - 1
            )
            for i in range(len(channels))
        )
        self.mid_block = MidBlock(channels[-1], groups)
        self.conv_norm_out = group_norm(groups, channels[-1])
        self.conv_out = nn.Conv2d(channels[-1], config.latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(x)
        for block in self.down_blocks:
            x = block(x)
        x = self.mid_block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class PointwiseBlock(nn.Module):
    """Residual per-position MLP: x + fc2(silu(fc1(norm(x)))) with 1x1 convs (2x hidden width)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = ChannelNorm(channels)
        self.fc1 = nn.Conv2d(channels, 2 * channels, 1)
        self.fc2 = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(F.silu(self.fc1(self.norm(x))))


class PatchEncoder(nn.Module):
    """Pixels [B,3,H,W] -> latents [B,latent,H/f,W/f] where each token sees only its own f x f patch.

    A patchify conv (kernel = stride = f) at the last block width, ``2 * layers_per_block`` pointwise
    blocks, a 1x1 output conv: pixels outside a patch cannot change its token, so an edit leaves the
    tokens of untouched patches exactly as they were.
    """

    def __init__(self, config: VQConfig):
        super().__init__()
        width = config.block_out_channels[-1]
        factor = config.downsample_factor
        self.conv_in = nn.Conv2d(config.in_channels, width, factor, stride=factor)
        self.blocks = nn.ModuleList(PointwiseBlock(width) for _ in range(2 * config.layers_per_block))
        self.conv_norm_out = ChannelNorm(width)
        self.conv_out = nn.Conv2d(width, config.latent_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(x)
        for block in self.blocks:
            x = block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Decoder(nn.Module):
    """Latents [B,latent,h,w] -> pixels [B,3,h*f,w*f] (diffusers ``Decoder`` with group norm)."""

    def __init__(self, config: VQConfig):
        super().__init__()
        reversed_channels = list(reversed(config.block_out_channels))
        groups = config.norm_num_groups
        self.conv_in = nn.Conv2d(config.latent_channels, reversed_channels[0], 3, padding=1)
        self.mid_block = MidBlock(reversed_channels[0], groups)
        self.up_blocks = nn.ModuleList(
            DecoderBlock(
                reversed_channels[max(i - 1, 0)],
                reversed_channels[i],
                config.layers_per_block + 1,
                groups,
                upsample=i < len(reversed_channels) - 1,
            )
            for i in range(len(reversed_channels))
        )
        self.conv_norm_out = group_norm(groups, reversed_channels[-1])
        self.conv_out = nn.Conv2d(reversed_channels[-1], config.out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mid_block(self.conv_in(x))
        for block in self.up_blocks:
            x = block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class VectorQuantizer(nn.Module):
    """Nearest-codebook quantizer (diffusers ``VectorQuantizer``; parameter ``embedding.weight`` [K, C])."""

    def __init__(self, num_embeddings: int, dim: int, beta: float):
        super().__init__()
        self.embedding = nn.Embedding(num_embeddings, dim)
        self.beta = beta

    def nearest_ids(self, z: torch.Tensor) -> torch.Tensor:
        """Argmin L2 codebook ids [B,h,w] of latents z [B,C,h,w] (|z|^2 - 2 z.e + |e|^2; exports to ONNX)."""
        flat = z.permute(0, 2, 3, 1)
        codebook = self.embedding.weight
        distances = (
            (flat * flat).sum(-1, keepdim=True) - 2.0 * flat @ codebook.t() + (codebook * codebook).sum(-1)
        )
        return distances.argmin(-1)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        """Codebook vectors [B,C,h,w] of ids [B,h,w]."""
        return self.embedding(ids).permute(0, 3, 1, 2)

    def forward(self, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantize z [B,C,h,w] -> (z_q with straight-through gradient, VQ loss, ids [B,h,w]).

        loss = |sg(z) - e|^2 (codebook term) + beta * |z - sg(e)|^2 (commitment term).
        """
        ids = self.nearest_ids(z)
        z_q = self.lookup(ids)
        loss = F.mse_loss(z_q, z.detach()) + self.beta * F.mse_loss(z, z_q.detach())
        return z + (z_q - z).detach(), loss, ids


class VQModel(nn.Module):
    """VQ-GAN tokenizer: ``encode`` pixels in [0,1] to codebook ids, ``decode`` ids back to pixels."""

    def __init__(self, config: Optional[VQConfig] = None):
        super().__init__()
        self.config = config or VQConfig()
        c = self.config
        self.encoder = PatchEncoder(c) if c.encoder == "patch" else Encoder(c)
        self.quant_conv = nn.Conv2d(c.latent_channels, c.latent_channels, 1)
        self.quantize = VectorQuantizer(c.num_vq_embeddings, c.latent_channels, c.commitment_beta)
        self.post_quant_conv = nn.Conv2d(c.latent_channels, c.latent_channels, 1)
        self.decoder = Decoder(c)

    def encode_latents(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pre-quantization latents z_e [B,C,h,w] of pixels [B,3,H,W] in [0,1]."""
        return self.quant_conv(self.encoder(pixels))

    def encode(self, pixels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(z_e [B,C,h,w], ids [B,h,w]) of pixels [B,3,H,W] in [0,1]."""
        z_e = self.encode_latents(pixels)
        return z_e, self.quantize.nearest_ids(z_e)

    def decode_latents(self, z_q: torch.Tensor) -> torch.Tensor:
        """Pixels [B,3,H,W] (unclipped) of quantized latents [B,C,h,w]."""
        return self.decoder(self.post_quant_conv(z_q))

    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """Pixels [B,3,H,W] (unclipped) of ids [B,h,w]; ids outside the codebook (the mask id) read as 0."""
        valid = ids < self.config.num_vq_embeddings
        return self.decode_latents(self.quantize.lookup(torch.where(valid, ids, torch.zeros_like(ids))))

    def forward(self, pixels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: (reconstruction [B,3,H,W], VQ loss, ids [B,h,w])."""
        z_q, vq_loss, ids = self.quantize(self.encode_latents(pixels))
        return self.decode_latents(z_q), vq_loss, ids
