"""Gemma-2 causal LM with Hugging Face's parameter names, as EditMGT uses it for the context states.

EditMGT encodes the instruction with ``Gemma2ForCausalLM`` (google/gemma-2-2b-it) and feeds
``hidden_states[-2]`` to the transformer: the output of decoder layer L-2 (layer 24 of 26), before the
final norm. The numerics follow transformers 4.47's eager path (shared/reference/text-encoders-parity
README section 5.1):

* embeddings times ``sqrt(hidden_size)``, rounded to the model dtype;
* decoder layer: ``x + post_attn_norm(attn(input_norm(x)))``, then
  ``x + post_ffw_norm(down(gelu_tanh(gate(h)) * up(h)))`` with ``h = pre_ffw_norm(x)``;
* RMSNorm ``x * rsqrt(mean(x^2) + eps) * (1 + w)`` computed in float32 and cast back;
* rotary embedding with ``rotate_half`` (first half / second half), cos/sin from float32 frequencies;
* attention scores ``q.k * query_pre_attn_scalar^-0.5``, soft-capped ``cap * tanh(s / cap)``, a causal
  mask (plus the padding mask when one is given), softmax in float32; GQA repeats each KV head for
  ``num_attention_heads / num_key_value_heads`` consecutive query heads;
* logits ``final_cap * tanh(lm_head(norm(x)) / final_cap)`` with ``lm_head`` tied to the embedding.

The three float32 steps (RMSNorm, rotary, softmax) stay float32 under ``.double()``, as in the
reference, and survive the fp16 export (tools/export/fp16.py) as float32 islands.
The attention is written with plain ops (no SDPA), so the model traces to ONNX opset 17 with torch 1.13.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh")}


@dataclass
class Gemma2Config:
    """The fields of a Hugging Face Gemma-2 ``config.json`` that the forward pass reads.

    The defaults are those of Gemma-2-2B.
    """

    vocab_size: int = 256000
    hidden_size: int = 2304
    intermediate_size: int = 9216
    num_hidden_layers: int = 26
    num_attention_heads: int = 8
    num_key_value_heads: int = 4
    head_dim: int = 256
    query_pre_attn_scalar: float = 256
    attn_logit_softcapping: Optional[float] = 50.0
    final_logit_softcapping: Optional[float] = 30.0
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    hidden_activation: str = "gelu_pytorch_tanh"
    sliding_window: int = 4096
    max_position_embeddings: int = 8192
    attention_bias: bool = False
    tie_word_embeddings: bool = True
    pad_token_id: int = 0
    eos_token_id: int = 1
    bos_token_id: int = 2

    @classmethod
    def from_hf(cls, config: Mapping[str, Any]) -> "Gemma2Config":
        """Read a Hugging Face ``config.json`` dict; absent fields keep the Gemma-2-2B values.

        ``hidden_activation`` falls back to ``hidden_act`` (older configs carry only that one).
        """
        values = {f.name: config[f.name] for f in fields(cls) if config.get(f.name) is not None}
        if config.get("hidden_activation") is None and config.get("hidden_act") is not None:
            values["hidden_activation"] = config["hidden_act"]
        result = cls(**values)
        if result.hidden_activation not in ACTIVATIONS:
            raise ValueError(f"unsupported Gemma-2 activation {result.hidden_activation!r}; "
                             f"expected one of {sorted(ACTIVATIONS)}")
        return result


class Gemma2Output(NamedTuple):
    """``hidden_states``: L+1 tensors [B,T,D] (embeddings, layers 0..L-2, final norm of layer L-1);
    ``logits``: [B,T,vocab], soft-capped."""

    hidden_states: Tuple[torch.Tensor, ...]
    logits: torch.Tensor


def soft_cap(x: torch.Tensor, cap: Optional[float]) -> torch.Tensor:
    """``cap * tanh(x / cap)`` (the identity when ``cap`` is None), in the order the reference computes it."""
    return x if cap is None else torch.tanh(x / cap) * cap


class Gemma2RMSNorm(nn.Module):
    """``x * rsqrt(mean(x^2) + eps) * (1 + weight)`` in float32, cast back to the input dtype."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return (normed * (1.0 + self.weight.float())).to(x.dtype)


def rotary_tables(config: Gemma2Config, length: int, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [T, head_dim] for positions 0..T-1: float32 frequencies, cast to ``dtype``.

    ``inv_freq = 1 / theta^(2i/d)``; each table is its half-size angles repeated twice (rotate_half layout).
    """
    dim = config.head_dim
    inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    angles = torch.arange(length, dtype=torch.int64).float()[:, None] * inv_freq[None, :]
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x [B,H,T,d]: ``x cos + rotate_half(x) sin``, rotate_half = (-x2, x1)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def blocked_keys(length: int, sliding_window: Optional[int], padding: Optional[torch.Tensor]) -> torch.Tensor:
    """bool [B or 1, 1, T, T], True where query i may NOT attend key j.

    Blocked: future keys (``j > i``), keys outside the sliding window when one is given
    (``i - j >= window``) and, with a 2-D padding mask [B,T] (1 = real token), pad keys.
    """
    positions = torch.arange(length, dtype=torch.int64)
    blocked = positions[None, :] > positions[:, None]
    if sliding_window is not None:
        blocked = blocked | (positions[:, None] - positions[None, :] >= sliding_window)
    blocked = blocked[None, None]
    if padding is not None:
        blocked = blocked | (padding[:, None, None, :] == 0)
    return blocked


def repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    """[B,kv,T,d] -> [B,kv*groups,T,d]: KV head h serves query heads h*groups .. h*groups+groups-1."""
    if groups == 1:
        return x
    batch, kv_heads, length, head_dim = x.shape
    return x[:, :, None].expand(batch, kv_heads, groups, length, head_dim).reshape(batch, kv_heads * groups,
                                                                                  length, head_dim)


class Gemma2Attention(nn.Module):
    """Grouped-query self-attention with rotary positions and soft-capped scores (HF ``self_attn``)."""

    def __init__(self, config: Gemma2Config):
        super().__init__()
        self.config = config
        heads, kv_heads, head_dim = config.num_attention_heads, config.num_key_value_heads, config.head_dim
        bias = config.attention_bias
        self.q_proj = nn.Linear(config.hidden_size, heads * head_dim, bias=bias)
        self.k_proj = nn.Linear(config.hidden_size, kv_heads * head_dim, bias=bias)
        self.v_proj = nn.Linear(config.hidden_size, kv_heads * head_dim, bias=bias)
        self.o_proj = nn.Linear(heads * head_dim, config.hidden_size, bias=bias)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        """x [B,T,D], rotary tables [T,d], ``blocked`` bool [B|1,1,T,T] (see ``blocked_keys``) -> [B,T,D]."""
        config = self.config
        batch, length = x.shape[0], x.shape[1]
        heads, kv_heads, head_dim = config.num_attention_heads, config.num_key_value_heads, config.head_dim
        q = rotate(self.q_proj(x).view(batch, length, heads, head_dim).transpose(1, 2), cos, sin)
        k = rotate(self.k_proj(x).view(batch, length, kv_heads, head_dim).transpose(1, 2), cos, sin)
        v = self.v_proj(x).view(batch, length, kv_heads, head_dim).transpose(1, 2)
        k, v = repeat_kv(k, heads // kv_heads), repeat_kv(v, heads // kv_heads)
        scores = soft_cap(torch.matmul(q, k.transpose(2, 3)) * config.query_pre_attn_scalar ** -0.5,
                          config.attn_logit_softcapping)
        # Masking in float32 with finfo(float32).min gives the reference's float32 weights exactly. Under
        # .double() a query row with every key blocked (a pad query, only with a padding mask) stays
        # uniform where the reference's float64 mask turns into -inf and NaN (README 5.3).
        scores = scores.float().masked_fill(blocked, torch.finfo(torch.float32).min)
        weights = scores.softmax(-1).to(x.dtype)
        attended = torch.matmul(weights, v).transpose(1, 2).reshape(batch, length, heads * head_dim)
        return self.o_proj(attended)


class Gemma2MLP(nn.Module):
    """Gated feed-forward ``down(act(gate(x)) * up(x))`` (HF ``mlp``)."""

    def __init__(self, config: Gemma2Config):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)
        self.activation = ACTIVATIONS[config.hidden_activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.activation(self.gate_proj(x)) * self.up_proj(x))


class Gemma2DecoderLayer(nn.Module):
    """One decoder layer with Gemma-2's four norms (sandwich norms around attention and MLP)."""

    def __init__(self, config: Gemma2Config, index: int):
        super().__init__()
        self.is_sliding = index % 2 == 0  # even layers attend within the sliding window
        self.self_attn = Gemma2Attention(config)
        self.mlp = Gemma2MLP(config)
        self.input_layernorm = Gemma2RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = Gemma2RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.pre_feedforward_layernorm = Gemma2RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_feedforward_layernorm = Gemma2RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        """x [B,T,D] -> [B,T,D]; ``blocked`` is this layer's mask (global or sliding, see ``blocked_keys``)."""
        x = x + self.post_attention_layernorm(self.self_attn(self.input_layernorm(x), cos, sin, blocked))
        return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))


class Gemma2Model(nn.Module):
    """The decoder stack (HF ``model``): ``embed_tokens``, ``layers``, ``norm``."""

    def __init__(self, config: Gemma2Config):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.layers = nn.ModuleList(Gemma2DecoderLayer(config, index) for index in range(config.num_hidden_layers))
        self.norm = Gemma2RMSNorm(config.hidden_size, config.rms_norm_eps)

    def hidden_states(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                      layers: Optional[int] = None) -> Tuple[torch.Tensor, ...]:
        """Embeddings and the outputs of the first ``layers`` decoder layers (all by default), un-normed.

        Positions are 0..T-1 for every row whatever the padding, as in the reference's call.
        """
        config, length = self.config, input_ids.shape[1]
        embeddings = self.embed_tokens(input_ids)
        x = embeddings * torch.tensor(config.hidden_size ** 0.5, dtype=embeddings.dtype)
        cos, sin = rotary_tables(config, length, embeddings.dtype)
        blocked = blocked_keys(length, None, attention_mask)
        # The window only matters beyond sliding_window tokens (EditMGT uses 256 of 4096).
        blocked_local = blocked_keys(length, config.sliding_window, attention_mask) \
            if length > config.sliding_window else blocked
        states = [x]
        for layer in self.layers[:layers]:
            x = layer(x, cos, sin, blocked_local if layer.is_sliding else blocked)
            states.append(x)
        return tuple(states)


class Gemma2ForCausalLM(nn.Module):
    """Gemma-2 with its (tied) LM head; ``state_dict()`` keys equal the released checkpoint's.

    The tied ``lm_head.weight`` is not a key: the logits use ``model.embed_tokens.weight``.
    """

    def __init__(self, config: Gemma2Config):
        super().__init__()
        if not config.tie_word_embeddings:
            raise ValueError("Gemma-2 checkpoints tie lm_head to the embedding; tie_word_embeddings=False "
                             "is not supported")
        self.config = config
        self.model = Gemma2Model(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> Gemma2Output:
        """input_ids int64 [B,T] (and optionally attention_mask [B,T], 1 = real) -> every hidden state and
        the logits, as ``model(input_ids, output_hidden_states=True)`` returns them."""
        states = self.model.hidden_states(input_ids, attention_mask)
        last = self.model.norm(states[-1])
        logits = soft_cap(F.linear(last, self.model.embed_tokens.weight), self.config.final_logit_softcapping)
        return Gemma2Output(states[:-1] + (last,), logits)

    def context_states(self, input_ids: torch.Tensor) -> torch.Tensor:
        """EditMGT's context: ``hidden_states[-2]`` [B,T,D], the output of layer L-2.

        Runs only the embedding and layers 0..L-2: no last layer, final norm or LM head. No attention
        mask, as upstream calls it (pad tokens are attended like any token).
        """
        return self.model.hidden_states(input_ids, layers=self.config.num_hidden_layers - 1)[-1]
