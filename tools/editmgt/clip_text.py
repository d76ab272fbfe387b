"""CLIP text tower with projection, with Hugging Face's parameter names, as EditMGT uses it for ``pooled``.

EditMGT feeds ``text_embeds`` of ``CLIPTextModelWithProjection`` (the OpenCLIP ViT-H-14 text tower) to
the transformer's ``pooled`` input. The numerics follow transformers 4.47's eager path
(shared/reference/text-encoders-parity README section 5.2):

* token embedding + learned position embedding (positions 0..T-1);
* pre-LN encoder layers: ``x + out_proj(attn(ln1(x)))``, then ``x + fc2(act(fc1(ln2(x))))``;
* attention: q (with its bias) times ``head_dim^-0.5`` before ``q.k``, a causal mask, softmax in the model
  dtype; no padding mask (padding sits after the pooled token, so causality already hides it);
* ``last_hidden_state = final_layer_norm(x)``; the pooled row is ``argmax(input_ids)`` when
  ``eos_token_id == 2`` (the legacy rule of the ViT-H-14 config, where the end token has the largest id)
  and otherwise the first position holding ``eos_token_id`` (0 when there is none);
* ``text_embeds = text_projection(pooled row)``, no bias, not L2-normalised.

Everything runs in the model dtype (the reference has no float32 step here). The attention is written
with plain ops, so the model traces to ONNX opset 17 with torch 1.13.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, NamedTuple, Tuple

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"gelu": F.gelu, "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x)}
LEGACY_EOS_TOKEN_ID = 2  # transformers' marker for configs whose pooled token is found by argmax


@dataclass
class CLIPTextConfig:
    """The fields of a Hugging Face CLIP text ``config.json`` that the forward pass reads.

    The defaults are transformers' ``CLIPTextConfig`` defaults.
    """

    vocab_size: int = 49408
    hidden_size: int = 512
    intermediate_size: int = 2048
    projection_dim: int = 512
    num_hidden_layers: int = 12
    num_attention_heads: int = 8
    max_position_embeddings: int = 77
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    pad_token_id: int = 1
    bos_token_id: int = 49406
    eos_token_id: int = 49407

    @classmethod
    def from_hf(cls, config: Mapping[str, Any]) -> "CLIPTextConfig":
        """Read a Hugging Face ``config.json`` dict: a text config, or a full CLIP config's ``text_config``."""
        config = config.get("text_config") or config
        result = cls(**{f.name: config[f.name] for f in fields(cls) if config.get(f.name) is not None})
        if result.hidden_act not in ACTIVATIONS:
            raise ValueError(f"unsupported CLIP activation {result.hidden_act!r}; "
                             f"expected one of {sorted(ACTIVATIONS)}")
        return result


class CLIPTextOutput(NamedTuple):
    """``hidden_states``: L+1 tensors [B,T,D] (embeddings, then each layer, before the final norm);
    ``last_hidden_state`` [B,T,D]; ``text_embeds`` [B,P]."""

    hidden_states: Tuple[torch.Tensor, ...]
    last_hidden_state: torch.Tensor
    text_embeds: torch.Tensor


class CLIPTextEmbeddings(nn.Module):
    """Token plus position embedding (HF ``embeddings``); ``position_ids`` is not a state_dict key."""

    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embedding = nn.Embedding(config.max_position_embeddings, config.hidden_size)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.token_embedding(input_ids) + self.position_embedding.weight[:input_ids.shape[1]][None]


class CLIPAttention(nn.Module):
    """Multi-head causal self-attention (HF ``self_attn``)."""

    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.k_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.v_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.q_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.out_proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        """x [B,T,D] -> [B,T,D]; ``future`` bool [T,T] is True above the diagonal (keys a query may not see)."""
        batch, length, width = x.shape

        def split(states: torch.Tensor) -> torch.Tensor:
            return states.view(batch, length, self.heads, self.head_dim).transpose(1, 2)

        q = split(self.q_proj(x) * self.head_dim ** -0.5)
        scores = torch.matmul(q, split(self.k_proj(x)).transpose(2, 3))
        # -inf instead of the reference's additive finfo.min: the same weights (the diagonal is always
        # allowed), and a constant that the fp16 export can represent.
        scores = scores.masked_fill(future, float("-inf"))
        attended = torch.matmul(scores.softmax(-1), split(self.v_proj(x)))
        return self.out_proj(attended.transpose(1, 2).reshape(batch, length, width))


class CLIPMLP(nn.Module):
    """``fc2(act(fc1(x)))`` (HF ``mlp``)."""

    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.activation = ACTIVATIONS[config.hidden_act]
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.activation(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    """Pre-LN encoder layer."""

    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.self_attn = CLIPAttention(config)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x), future)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    """The stack of encoder layers (HF ``encoder``)."""

    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(config) for _ in range(config.num_hidden_layers))


class CLIPTextTransformer(nn.Module):
    """Embeddings, encoder and final LayerNorm (HF ``text_model``)."""

    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(config)
        self.encoder = CLIPEncoder(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def hidden_states(self, input_ids: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The embeddings and the output of every encoder layer, before the final norm."""
        positions = torch.arange(input_ids.shape[1], dtype=torch.int64)
        future = positions[None, :] > positions[:, None]
        states = [self.embeddings(input_ids)]
        for layer in self.encoder.layers:
            states.append(layer(states[-1], future))
        return tuple(states)


def pool_positions(input_ids: torch.Tensor, eos_token_id: int) -> torch.Tensor:
    """int64 [B]: the position of the pooled token of each row (see the module doc for the two rules).

    The argmax runs on float32 copies of the ids (exact up to 2^24), the first maximum wins as in torch.
    """
    if eos_token_id == LEGACY_EOS_TOKEN_ID:
        return input_ids.float().argmax(-1)
    return (input_ids == eos_token_id).float().argmax(-1)


class CLIPTextModelWithProjection(nn.Module):
    """CLIP text tower plus ``text_projection``; ``state_dict()`` keys equal the Hugging Face checkpoint's."""

    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.config = config
        self.text_model = CLIPTextTransformer(config)
        self.text_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)

    def forward(self, input_ids: torch.Tensor) -> CLIPTextOutput:
        """input_ids int64 [B,T] (T <= max_position_embeddings) -> every hidden state, the final-normed
        states and ``text_embeds``, as ``model(input_ids, output_hidden_states=True)`` returns them."""
        states = self.text_model.hidden_states(input_ids)
        last = self.text_model.final_layer_norm(states[-1])
        return CLIPTextOutput(states, last, self.text_projection(self.pooled_rows(last, input_ids)))

    def pooled(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``text_embeds`` [B,P] alone: the final norm runs on the pooled rows only (it is row-wise)."""
        states = self.text_model.hidden_states(input_ids)
        pooled = self.text_model.final_layer_norm(self.pooled_rows(states[-1], input_ids))
        return self.text_projection(pooled)

    def pooled_rows(self, states: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """[B,D]: row ``pool_positions(input_ids)[b]`` of ``states[b]``."""
        index = pool_positions(input_ids, self.config.eos_token_id)
        return torch.gather(states, 1, index[:, None, None].expand(-1, 1, states.shape[-1]))[:, 0]
