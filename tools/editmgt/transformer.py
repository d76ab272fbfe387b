"""EditMGT ``Transformer2DModel``: a masked-token transformer with upstream module and parameter names.

Image tokens [B,H,W] -> embedding -> 2x2 downsample -> double-stream (MMDiT) blocks over [text | image]
-> single-stream blocks over [text+image] -> 2x2 upsample -> logits [B, codebook, H, W]. The reference
(source) image runs as a third stream through every block with the image-stream weights and timestep 0,
sharing the target's RoPE positions; ``log_gamma`` biases attention between it and everything else.
State-dict keys equal the released checkpoint's (see ``configs.py`` for the named sizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from .attention import Attention, reference_bias_pattern
from .layers import (
    AdaLayerNormZero,
    AdaLayerNormZeroSingle,
    CombinedTimestepTextProjEmbeddings,
    FeedForward,
    RMSNorm,
    TimestepEmbedding,
    layer_norm,
    patch_downsample,
    patch_upsample,
    pointwise_conv,
    sinusoidal_embedding,
)
from .rope import text_image_rope

MICRO_COND_COUNT = 5
MICRO_COND_DIM = 256
TIMESTEP_SCALE = 1000.0

Rope = Tuple[torch.Tensor, torch.Tensor]


@dataclass
class TransformerConfig:
    """Constructor arguments of the transformer (upstream names; ``mask_token_id`` is ``vocab_size - 1``)."""

    num_layers: int = 14
    num_single_layers: int = 28
    attention_head_dim: int = 128
    num_attention_heads: int = 8
    joint_attention_dim: int = 2304
    pooled_projection_dim: int = 1024
    axes_dims_rope: Tuple[int, ...] = (16, 56, 56)
    vocab_size: int = 8256
    codebook_size: int = 8192
    downsample: bool = True
    upsample: bool = True
    connector_type: str = "linear"

    @property
    def inner_dim(self) -> int:
        """Model width: heads x head size."""
        return self.num_attention_heads * self.attention_head_dim

    @property
    def mask_token_id(self) -> int:
        """Id of the mask token (the last vocabulary entry)."""
        return self.vocab_size - 1


class TransformerBlock(nn.Module):
    """Double-stream block: separate AdaLN/FF for text and image, one joint attention (plus the reference)."""

    def __init__(self, dim: int, heads: int, head_dim: int):
        super().__init__()
        self.norm1 = AdaLayerNormZero(dim)
        self.norm1_context = AdaLayerNormZero(dim)
        self.attn = Attention(dim, heads, head_dim, joint=True)
        self.ff = FeedForward(dim)
        self.ff_context = FeedForward(dim)

    @staticmethod
    def _residual(
        x: torch.Tensor, attn_out: torch.Tensor, ff: FeedForward, gate_msa, shift_mlp, scale_mlp, gate_mlp
    ) -> torch.Tensor:
        x = x + gate_msa[:, None] * attn_out
        return x + gate_mlp[:, None] * ff(layer_norm(x) * (1 + scale_mlp[:, None]) + shift_mlp[:, None])

    def forward(
        self,
        hidden: torch.Tensor,
        context: torch.Tensor,
        temb: torch.Tensor,
        rope: Rope,
        reference: Optional[torch.Tensor],
        reference_temb: Optional[torch.Tensor],
        bias: Optional[torch.Tensor],
        capture: bool,
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
        """(context, hidden, reference, captured) after the block."""
        norm_hidden, *image_mod = self.norm1(hidden, temb)
        norm_context, *context_mod = self.norm1_context(context, temb)
        norm_reference, reference_mod = None, None
        if reference is not None:
            norm_reference, *reference_mod = self.norm1(reference, reference_temb)
        text_len = context.shape[1]
        reference_rope = (rope[0][text_len:], rope[1][text_len:])
        attn_hidden, attn_context, attn_reference, captured = self.attn(
            norm_hidden, rope, norm_context, norm_reference, reference_rope, bias, text_len, capture
        )
        hidden = self._residual(hidden, attn_hidden, self.ff, *image_mod)
        context = self._residual(context, attn_context, self.ff_context, *context_mod)
        if reference is not None:
            reference = self._residual(reference, attn_reference, self.ff, *reference_mod)
        return context, hidden, reference, captured


class SingleTransformerBlock(nn.Module):
    """Single-stream block: parallel attention and MLP over [text+image] (and the reference), one output proj."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm = AdaLayerNormZeroSingle(dim)
        self.proj_mlp = nn.Linear(dim, dim * mlp_ratio)
        self.proj_out = nn.Linear(dim + dim * mlp_ratio, dim)
        self.attn = Attention(dim, heads, head_dim, joint=False)

    def _output(self, x: torch.Tensor, normed: torch.Tensor, attn_out: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        mlp = F.gelu(self.proj_mlp(normed), approximate="tanh")
        return x + gate[:, None] * self.proj_out(torch.cat([attn_out, mlp], dim=2))

    def forward(
        self,
        hidden: torch.Tensor,
        temb: torch.Tensor,
        rope: Rope,
        text_len: int,
        reference: Optional[torch.Tensor],
        reference_temb: Optional[torch.Tensor],
        bias: Optional[torch.Tensor],
        capture: bool,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
        """(hidden, reference, captured) after the block; hidden is [text+image]."""
        normed, gate = self.norm(hidden, temb)
        norm_reference, reference_gate = None, None
        if reference is not None:
            norm_reference, reference_gate = self.norm(reference, reference_temb)
        reference_rope = (rope[0][text_len:], rope[1][text_len:])
        attn_hidden, _, attn_reference, captured = self.attn(
            normed, rope, None, norm_reference, reference_rope, bias, text_len, capture
        )
        hidden = self._output(hidden, normed, attn_hidden, gate)
        if reference is not None:
            reference = self._output(reference, norm_reference, attn_reference, reference_gate)
        return hidden, reference, captured


class UVit2DConvEmbed(nn.Module):
    """Token ids -> embedding -> RMSNorm -> 1x1 conv (``embed.embeddings/layer_norm/conv``), channels-last out."""

    def __init__(self, dim: int, vocab_size: int):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, dim)
        self.layer_norm = RMSNorm(dim)
        self.conv = nn.Conv2d(dim, dim, kernel_size=1, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return pointwise_conv(self.layer_norm(self.embeddings(ids)), self.conv)


class ConvMlmLayer(nn.Module):
    """Channels-last hidden [B,H,W,C] -> 1x1 conv -> RMSNorm -> 1x1 conv -> logits [B,H,W,K].

    Upstream's input here comes from a transposed conv in NCHW memory, so its norm sums the variance in
    channels-first order (``channels_first=True``).
    """

    def __init__(self, dim: int, codebook_size: int):
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, kernel_size=1, bias=False)
        self.layer_norm = RMSNorm(dim, channels_first=True)
        self.conv2 = nn.Conv2d(dim, codebook_size, kernel_size=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pointwise_conv(self.layer_norm(pointwise_conv(x, self.conv1)), self.conv2)


class Resample2D(nn.Module):
    """RMSNorm over channels then a 2x2 stride-2 conv (down) or transposed conv (up), no bias.

    Parameters are those of diffusers ``Downsample2D``/``Upsample2D`` (``norm``, ``conv``); the conv is run
    as reshape + matmul on channels-last tensors (see ``patch_downsample``/``patch_upsample``).
    """

    def __init__(self, dim: int, up: bool):
        super().__init__()
        self.up = up
        self.norm = RMSNorm(dim)
        conv_type = nn.ConvTranspose2d if up else nn.Conv2d
        self.conv = conv_type(dim, dim, kernel_size=2, stride=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        resample = patch_upsample if self.up else patch_downsample
        return resample(self.norm(x), self.conv.weight)


class SimpleUVitBlock(nn.Module):
    """Holder of an optional ``downsample`` or ``upsample`` (upstream ``Simple_UVitBlock``); identity if none."""

    def __init__(self, dim: int, downsample: bool, upsample: bool):
        super().__init__()
        self.downsample = Resample2D(dim, up=False) if downsample else None
        self.upsample = Resample2D(dim, up=True) if upsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        if self.upsample is not None:
            x = self.upsample(x)
        return x


class LinearProjector(nn.Module):
    """The Gemma connector: ``connector.projector`` Linear(joint_attention_dim -> inner_dim) with bias."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.projector = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(x)


LogGamma = Union[float, torch.Tensor]


class Transformer2DModel(nn.Module):
    """The EditMGT transformer. See ``forward`` for the call contract."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        dim = config.inner_dim
        heads, head_dim = config.num_attention_heads, config.attention_head_dim
        if sum(config.axes_dims_rope) != head_dim:
            raise ValueError(f"axes_dims_rope {config.axes_dims_rope} must sum to attention_head_dim {head_dim}")
        self.time_text_embed = CombinedTimestepTextProjEmbeddings(dim, dim)
        self.context_embedder = nn.Linear(dim, dim)
        self.transformer_blocks = nn.ModuleList(TransformerBlock(dim, heads, head_dim) for _ in range(config.num_layers))
        self.single_transformer_blocks = nn.ModuleList(
            SingleTransformerBlock(dim, heads, head_dim) for _ in range(config.num_single_layers)
        )
        self.embed = UVit2DConvEmbed(dim, config.vocab_size)
        self.mlm_layer = ConvMlmLayer(dim, config.codebook_size)
        self.cond_embed = TimestepEmbedding(
            MICRO_COND_COUNT * MICRO_COND_DIM + config.pooled_projection_dim, dim, bias=False
        )
        self.encoder_proj_layer_norm = RMSNorm(dim)
        self.project_to_hidden_norm = RMSNorm(dim)
        self.project_to_hidden = nn.Linear(dim, dim, bias=False)
        self.project_from_hidden_norm = RMSNorm(dim)
        self.project_from_hidden = nn.Linear(dim, dim, bias=False)
        self.down_block = SimpleUVitBlock(dim, downsample=config.downsample, upsample=False)
        self.up_block = SimpleUVitBlock(dim, downsample=False, upsample=config.upsample)
        if config.connector_type == "linear":
            self.connector = LinearProjector(config.joint_attention_dim, dim)
        elif config.connector_type == "none":
            self.connector = None
        else:
            raise ValueError(f"unsupported connector_type {config.connector_type!r} (linear or none)")

    @property
    def block_count(self) -> int:
        """Double plus single blocks; global block index i < num_layers is a double block."""
        return self.config.num_layers + self.config.num_single_layers

    def _image_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids [B,H,W] -> hidden [B, h*w, D] (embed, downsample, RMSNorm, projection)."""
        x = self.down_block(self.embed(ids))
        x = x.reshape(x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
        return self.project_to_hidden(self.project_to_hidden_norm(x))

    def _conditioning(self, pooled: torch.Tensor, micro_conds: torch.Tensor, batch: int) -> torch.Tensor:
        """cond_embed([pooled | sinusoid(micro_conds) (5 x 256)]) -> [B, D]."""
        micro = sinusoidal_embedding(micro_conds.reshape(-1, MICRO_COND_COUNT).expand(batch, -1), MICRO_COND_DIM)
        micro = micro.reshape(batch, MICRO_COND_COUNT * MICRO_COND_DIM).to(pooled.dtype)
        return self.cond_embed(torch.cat([pooled, micro], dim=1).to(self.dtype))

    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype."""
        return self.project_to_hidden.weight.dtype

    def forward(
        self,
        tokens: torch.Tensor,
        ref_tokens: Optional[torch.Tensor],
        context: torch.Tensor,
        pooled: torch.Tensor,
        micro_conds: torch.Tensor,
        timestep: torch.Tensor,
        log_gamma: LogGamma = 0.0,
        capture_blocks: Optional[Sequence[int]] = None,
        ref_timestep: float = 0.0,
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Logits [B, codebook, H, W] of the masked tokens; with ``capture_blocks`` also the captured attention.

        tokens: int64 [B,H,W] VQ ids (``mask_token_id`` where unknown); ref_tokens: int64 [B,H,W] or None
        (plain text-to-image, no reference stream); context: [B,T,joint_attention_dim] text states (before
        the connector); pooled: [B,pooled_projection_dim]; micro_conds: [B,5] or [5]; timestep: [B] or [1]
        (multiplied by 1000 in float32 whatever the model dtype, so half-precision exports keep t*1000
        exact); log_gamma: log of the reference strength (0 = no bias, python float
        or 0-d tensor); capture_blocks: global block indices whose text->image attention is returned as
        [B, len(capture_blocks), heads, T, h*w] (upstream's capture: softmax over text+target keys after
        qk-norm and RoPE, without reference keys or gamma bias); ref_timestep: timestep of the reference.
        """
        batch, text_len = tokens.shape[0], context.shape[1]
        if self.connector is not None:
            context = self.connector(context.to(self.dtype))
        pooled_cond = self._conditioning(pooled, micro_conds, batch).to(context.dtype)
        context = self.encoder_proj_layer_norm(self.context_embedder(context))

        factor = 2 if self.config.downsample else 1
        grid_height, grid_width = tokens.shape[1] // factor, tokens.shape[2] // factor
        hidden = self._image_tokens(tokens)
        timestep = timestep.reshape(-1).float().expand(batch) * TIMESTEP_SCALE
        temb = self.time_text_embed(timestep, pooled_cond)
        reference, reference_temb, bias = None, None, None
        if ref_tokens is not None:
            reference = self._image_tokens(ref_tokens)
            reference_temb = self.time_text_embed(torch.ones_like(timestep) * ref_timestep * TIMESTEP_SCALE, pooled_cond)
            if isinstance(log_gamma, torch.Tensor) or log_gamma != 0.0:
                length = text_len + 2 * hidden.shape[1]
                bias = reference_bias_pattern(length, hidden.shape[1]).to(hidden.dtype) * log_gamma
        rope = text_image_rope(text_len, grid_height, grid_width, self.config.axes_dims_rope)

        wanted = set(capture_blocks or ())
        unknown = sorted(i for i in wanted if not 0 <= i < self.block_count)
        if unknown:
            raise ValueError(f"capture_blocks {unknown} out of range 0..{self.block_count - 1}")
        captured = {}
        for index, block in enumerate(self.transformer_blocks):
            context, hidden, reference, probs = block(
                hidden, context, temb, rope, reference, reference_temb, bias, index in wanted
            )
            captured[index] = probs
        hidden = torch.cat([context, hidden], dim=1)
        for offset, block in enumerate(self.single_transformer_blocks):
            index = self.config.num_layers + offset
            hidden, reference, probs = block(
                hidden, temb, rope, text_len, reference, reference_temb, bias, index in wanted
            )
            captured[index] = probs

        hidden = self.project_from_hidden(self.project_from_hidden_norm(hidden[:, text_len:]))
        hidden = self.up_block(hidden.reshape(batch, grid_height, grid_width, hidden.shape[-1]))
        logits = self.mlm_layer(hidden).permute(0, 3, 1, 2)
        if capture_blocks is None:
            return logits
        return logits, torch.stack([captured[i] for i in capture_blocks], dim=1)
