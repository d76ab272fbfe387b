"""Joint attention of the EditMGT blocks: text, target image and reference image in one softmax.

Sequence order is ``[text | target | reference]`` (double blocks project text with the ``add_*`` weights;
single blocks see ``[text+target | reference]``, already concatenated). The reference stream always uses
the image-stream weights (``to_q/k/v``, ``norm_q/k``, ``to_out``). The ``log(gamma)`` bias is added to the
scores of both off-diagonal quadrants (non-reference rows x reference columns and the reverse).
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import nn

from .layers import RMSNorm
from .rope import apply_rope


def reference_bias_pattern(length: int, reference_len: int) -> torch.Tensor:
    """[L, L] float32 matrix with 1 where exactly one of (row, col) is a reference token, else 0."""
    is_reference = torch.arange(length) >= length - reference_len
    return (is_reference[:, None] != is_reference[None, :]).float()


def scaled_dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, bias: Optional[torch.Tensor]
) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d) + bias) V, written out (torch 1.13 has no SDPA; exports to plain ONNX ops)."""
    scores = (query @ key.transpose(-1, -2)) * (1.0 / math.sqrt(query.shape[-1]))
    if bias is not None:
        scores = scores + bias
    return scores.softmax(dim=-1) @ value


def text_to_image_attention(query: torch.Tensor, key: torch.Tensor, text_len: int) -> torch.Tensor:
    """Upstream's capture: softmax over [text+target] keys of the text queries, image columns [B,h,T,n].

    query/key are [B, heads, text+target, d] after qk-norm and RoPE, without reference tokens and without
    the gamma bias (upstream's capture mask over this square is all zeros).
    """
    scores = (query[:, :, :text_len] @ key.transpose(-1, -2)) * (1.0 / math.sqrt(query.shape[-1]))
    return scores.softmax(dim=-1)[..., text_len:]


class Attention(nn.Module):
    """Attention of one block (diffusers ``Attention`` names: ``to_q``, ``norm_q``, ``add_q_proj``, ``to_out.0``...).

    ``joint=True`` (double block) adds the text projections, their qk-norms and ``to_add_out``;
    ``joint=False`` (single block) is ``pre_only``: no output projection.
    """

    def __init__(self, dim: int, heads: int, head_dim: int, joint: bool):
        super().__init__()
        self.heads = heads
        self.head_dim = head_dim
        inner = heads * head_dim
        self.norm_q = RMSNorm(head_dim)
        self.norm_k = RMSNorm(head_dim)
        self.to_q = nn.Linear(dim, inner)
        self.to_k = nn.Linear(dim, inner)
        self.to_v = nn.Linear(dim, inner)
        if joint:
            self.add_k_proj = nn.Linear(dim, inner)
            self.add_v_proj = nn.Linear(dim, inner)
            self.add_q_proj = nn.Linear(dim, inner)
            self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Identity()])
            self.to_add_out = nn.Linear(inner, dim)
            self.norm_added_q = RMSNorm(head_dim)
            self.norm_added_k = RMSNorm(head_dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def _image_qkv(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.norm_q(self._heads(self.to_q(x))), self.norm_k(self._heads(self.to_k(x))), self._heads(self.to_v(x))

    def forward(
        self,
        hidden: torch.Tensor,
        rope: Tuple[torch.Tensor, torch.Tensor],
        context: Optional[torch.Tensor] = None,
        reference: Optional[torch.Tensor] = None,
        reference_rope: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
        bias: Optional[torch.Tensor] = None,
        text_len: int = 0,
        capture: bool = False,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor], Optional[torch.Tensor]]:
        """Attend; returns (hidden out, context out, reference out, captured text->image probs or None).

        hidden: target tokens (double block) or [text+target] (single block); context: text (double only);
        rope: tables for [text | target]; reference_rope: tables for the reference tokens;
        bias: [L, L] additive score bias (log gamma pattern) or None; text_len: text tokens in the sequence.
        Outputs are not projected for single blocks; context out is None there.
        """
        query, key, value = self._image_qkv(hidden)
        if context is not None:
            query = torch.cat([self.norm_added_q(self._heads(self.add_q_proj(context))), query], dim=2)
            key = torch.cat([self.norm_added_k(self._heads(self.add_k_proj(context))), key], dim=2)
            value = torch.cat([self._heads(self.add_v_proj(context)), value], dim=2)
        query = apply_rope(query, *rope)
        key = apply_rope(key, *rope)
        captured = text_to_image_attention(query, key, text_len) if capture else None
        reference_len = 0
        if reference is not None:
            ref_query, ref_key, ref_value = self._image_qkv(reference)
            query = torch.cat([query, apply_rope(ref_query, *reference_rope)], dim=2)
            key = torch.cat([key, apply_rope(ref_key, *reference_rope)], dim=2)
            value = torch.cat([value, ref_value], dim=2)
            reference_len = reference.shape[1]
        out = scaled_dot_product_attention(query, key, value, bias)
        out = out.transpose(1, 2).reshape(out.shape[0], out.shape[2], self.heads * self.head_dim)
        main_len = out.shape[1] - reference_len
        reference_out = out[:, main_len:] if reference is not None else None
        out = out[:, :main_len]
        if context is None:
            return out, None, reference_out, captured
        context_len = context.shape[1]
        context_out = self.to_add_out(out[:, :context_len])
        hidden_out = self.to_out[0](out[:, context_len:])
        if reference_out is not None:
            reference_out = self.to_out[0](reference_out)
        return hidden_out, context_out, reference_out, captured
