"""Key names, shapes and configs of the two released text encoders, described from their configs alone.

The released snapshot stores the CLIP text tower as ``CLIPTextModelWithProjection`` (folder
``text_encoder/``) and Gemma-2-2B as ``Gemma2ForCausalLM`` (folder ``llm_encoder/``, the tied LM head not
stored). These functions derive each stored key and its shape from a Hugging Face ``config.json``, so the
synthetic snapshots and the converter's strict loading are checked against a description that does not
come from our own modules (tests compare both with the real key lists in
``shared/reference/text-encoders-parity``).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

Shape = Tuple[int, ...]

GEMMA2_2B_CONFIG: Dict[str, Any] = {
    "architectures": ["Gemma2ForCausalLM"],
    "model_type": "gemma2",
    "vocab_size": 256000,
    "hidden_size": 2304,
    "intermediate_size": 9216,
    "num_hidden_layers": 26,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "head_dim": 256,
    "query_pre_attn_scalar": 256,
    "sliding_window": 4096,
    "attn_logit_softcapping": 50.0,
    "final_logit_softcapping": 30.0,
    "hidden_activation": "gelu_pytorch_tanh",
    "hidden_act": "gelu_pytorch_tanh",
    "rms_norm_eps": 1e-06,
    "rope_theta": 10000.0,
    "max_position_embeddings": 8192,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "bos_token_id": 2,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
}

CLIP_H_TEXT_CONFIG: Dict[str, Any] = {
    "architectures": ["CLIPTextModelWithProjection"],
    "model_type": "clip_text_model",
    "vocab_size": 49408,
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "projection_dim": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "max_position_embeddings": 77,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-05,
    "attention_dropout": 0.0,
    "initializer_factor": 1.0,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "torch_dtype": "float32",
}

GEMMA2_TINY: Dict[str, Any] = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3,
                               "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                               "query_pre_attn_scalar": 16}
"""Overrides of ``GEMMA2_2B_CONFIG`` for the tiny synthetic snapshot (vocab from its tokenizer)."""

CLIP_TEXT_TINY: Dict[str, Any] = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                  "num_attention_heads": 4, "projection_dim": 24}
"""Overrides of ``CLIP_H_TEXT_CONFIG`` for the tiny synthetic snapshot (vocab from its tokenizer)."""


def gemma2_shapes(config: Mapping[str, Any]) -> Dict[str, Shape]:
    """Stored keys and shapes of ``Gemma2ForCausalLM`` (``lm_head.weight`` is tied and not stored)."""
    hidden, inner = int(config["hidden_size"]), int(config["intermediate_size"])
    head_dim = int(config.get("head_dim") or hidden // int(config["num_attention_heads"]))
    query, key_value = int(config["num_attention_heads"]) * head_dim, int(config["num_key_value_heads"]) * head_dim
    shapes: Dict[str, Shape] = {"model.embed_tokens.weight": (int(config["vocab_size"]), hidden)}
    for i in range(int(config["num_hidden_layers"])):
        prefix = f"model.layers.{i}"
        shapes.update({
            f"{prefix}.self_attn.q_proj.weight": (query, hidden),
            f"{prefix}.self_attn.k_proj.weight": (key_value, hidden),
            f"{prefix}.self_attn.v_proj.weight": (key_value, hidden),
            f"{prefix}.self_attn.o_proj.weight": (hidden, query),
            f"{prefix}.mlp.gate_proj.weight": (inner, hidden),
            f"{prefix}.mlp.up_proj.weight": (inner, hidden),
            f"{prefix}.mlp.down_proj.weight": (hidden, inner),
        })
        for norm in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                     "post_feedforward_layernorm"):
            shapes[f"{prefix}.{norm}.weight"] = (hidden,)
    shapes["model.norm.weight"] = (hidden,)
    return shapes


def clip_text_shapes(config: Mapping[str, Any]) -> Dict[str, Shape]:
    """Stored keys and shapes of ``CLIPTextModelWithProjection`` (``text_projection`` has no bias)."""
    hidden, inner = int(config["hidden_size"]), int(config["intermediate_size"])
    shapes: Dict[str, Shape] = {
        "text_model.embeddings.token_embedding.weight": (int(config["vocab_size"]), hidden),
        "text_model.embeddings.position_embedding.weight": (int(config["max_position_embeddings"]), hidden),
    }
    for i in range(int(config["num_hidden_layers"])):
        prefix = f"text_model.encoder.layers.{i}"
        for projection in ("k_proj", "v_proj", "q_proj", "out_proj"):
            shapes[f"{prefix}.self_attn.{projection}.weight"] = (hidden, hidden)
            shapes[f"{prefix}.self_attn.{projection}.bias"] = (hidden,)
        shapes.update({
            f"{prefix}.layer_norm1.weight": (hidden,), f"{prefix}.layer_norm1.bias": (hidden,),
            f"{prefix}.mlp.fc1.weight": (inner, hidden), f"{prefix}.mlp.fc1.bias": (inner,),
            f"{prefix}.mlp.fc2.weight": (hidden, inner), f"{prefix}.mlp.fc2.bias": (hidden,),
            f"{prefix}.layer_norm2.weight": (hidden,), f"{prefix}.layer_norm2.bias": (hidden,),
        })
    shapes["text_model.final_layer_norm.weight"] = (hidden,)
    shapes["text_model.final_layer_norm.bias"] = (hidden,)
    shapes["text_projection.weight"] = (int(config["projection_dim"]), hidden)
    return shapes
