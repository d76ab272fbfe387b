"""Torch wrappers whose traced graphs are the ONNX components of a model package (contracts: opset 17).

Each wrapper's ``forward`` is exactly the graph: its argument names are the ONNX input names and
``OUTPUTS`` the output names, in order.

Transformer STEP graph (DESIGN section 4) - one full sampling step's heavy work, so that no
tokens x codebook tensor leaves the graph:

==================  =======  ==========  ===========================================================
name                dtype    shape       meaning
==================  =======  ==========  ===========================================================
tokens              int64    [1,h,w]     current VQ tokens, mask id where unknown
ref_tokens          int64    [1,h,w]     source-image tokens (reference stream, timestep 0)
context             float32  [2,T,D]     text states; row 0 unconditional/negative, row 1 instruction
pooled              float32  [2,P]       pooled text vector, same row order
micro_conds         float32  [5]         [width, height, crop top, crop left, aesthetic]
timestep            float32  [1]         step index or mask ratio (manifest); x1000 inside
log_gamma           float32  []          log(reference strength), on both off-diagonal quadrants
guidance_scale      float32  []          g in logits = u + g (c - u)
uniform             float32  [1,h*w]     one U[0,1) per token for the categorical draw
sampled             int64    [1,h*w]     min(K-1, #{k : cdf_k < uniform * cdf_(K-1)})
sampled_logprob     float32  [1,h*w]     log(max(p[sampled], 1e-20))
ref_logprob         float32  [1,h*w]     log(max(p[ref_token], 1e-20))
text_attention      float32  [T,n]       text->image attention, cond half, mean over heads and the
                                         localization blocks; n = transformer grid tokens row-major
==================  =======  ==========  ===========================================================

VQ encoder: ``pixels`` float32 [1,3,H,W] in [0,1] -> ``tokens`` int64 [1,h,w] (argmin L2 codebook).
VQ decoder: ``tokens`` int64 [1,h,w] (ids >= codebook size, i.e. the mask id, read as 0) ->
``pixels`` float32 [1,3,H,W] clipped to [0,1].
Text encoder: ``input_ids`` int64 [B,T] -> ``context`` float32 [B,T,D], ``pooled`` float32 [B,P].
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from tools.editmgt.sampling import categorical_draw, mean_text_attention


def _dtype(module: nn.Module) -> torch.dtype:
    """The parameter dtype of a module (float32, or float64 while tracing for fp16 export)."""
    return next(module.parameters()).dtype


class TransformerStep(nn.Module):
    """The transformer STEP graph around a ``Transformer2DModel`` (see the module doc for the I/O table)."""

    OUTPUTS = ("sampled", "sampled_logprob", "ref_logprob", "text_attention")

    def __init__(self, transformer: nn.Module, localization_blocks: Sequence[int]):
        super().__init__()
        if not localization_blocks:
            raise ValueError("the step graph needs at least one localization block")
        self.transformer = transformer
        self.localization_blocks = list(localization_blocks)

    def logits_and_attention(self, tokens, ref_tokens, context, pooled, micro_conds, timestep, log_gamma):
        """Codebook logits [2, K, h, w] (rows uncond, cond) and text_attention [T, n] of one step."""
        batch, dtype = context.shape[0], _dtype(self.transformer)
        logits, attention = self.transformer(
            tokens.expand(batch, -1, -1), ref_tokens.expand(batch, -1, -1), context.to(dtype), pooled.to(dtype),
            micro_conds.reshape(1, -1).expand(batch, -1), timestep.reshape(1).expand(batch), log_gamma,
            self.localization_blocks)
        return logits, mean_text_attention(attention.float())

    def forward(self, tokens, ref_tokens, context, pooled, micro_conds, timestep, log_gamma, guidance_scale,
                uniform):
        logits, text_attention = self.logits_and_attention(tokens, ref_tokens, context, pooled, micro_conds,
                                                           timestep, log_gamma)
        uncond, cond = logits.float().chunk(2)  # the sampling head runs in float32 whatever the weights
        sampled, sampled_logprob, ref_logprob = categorical_draw(uncond, cond, guidance_scale, uniform, ref_tokens)
        return sampled, sampled_logprob, ref_logprob, text_attention


class VQEncoder(nn.Module):
    """VQ encoder graph: pixels [1,3,H,W] in [0,1] -> tokens int64 [1,h,w].

    The nearest-codebook search runs in float32 whatever the weight dtype, so an fp16 export picks the
    same codes as long as the latents agree.
    """

    OUTPUTS = ("tokens",)

    def __init__(self, vq: nn.Module):
        super().__init__()
        self.vq = vq

    def forward(self, pixels):
        latents = self.vq.encode_latents(pixels.to(_dtype(self.vq))).float()  # [1, C, h, w]
        flat = latents.permute(0, 2, 3, 1)
        codebook = self.vq.quantize.embedding.weight.float()
        # |z - e|^2 = |z|^2 - 2 z.e + |e|^2
        distances = (flat * flat).sum(-1, keepdim=True) - 2.0 * flat @ codebook.t() + (codebook * codebook).sum(-1)
        return distances.argmin(-1)


class VQDecoder(nn.Module):
    """VQ decoder graph: tokens int64 [1,h,w] (mask id -> 0) -> pixels [1,3,H,W] clipped to [0,1]."""

    OUTPUTS = ("pixels",)

    def __init__(self, vq: nn.Module):
        super().__init__()
        self.vq = vq

    def forward(self, tokens):
        return self.vq.decode(tokens).float().clamp(0.0, 1.0)


class TextEncoder(nn.Module):
    """Text encoder graph: input_ids int64 [B,T] -> (context [B,T,D], pooled [B,P]).

    Wraps any module whose forward maps ids to ``(context, pooled)``.
    """

    OUTPUTS = ("context", "pooled")

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids):
        context, pooled = self.encoder(input_ids)
        return context.float(), pooled.float()
