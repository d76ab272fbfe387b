"""Named model configurations: the real EditMGT dimensions, the upstream-parity tiny model, the shipped tiny model.

``vq_config(name_or_dict)`` and ``transformer_config(name_or_dict)`` accept a config name, a dict of overrides
(``{"base": "tiny", "hidden": ...}`` or plain field values), or a ready config object.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Union

from .transformer import TransformerConfig
from .vq import VQConfig

TRANSFORMER_CONFIGS: Dict[str, TransformerConfig] = {
    "editmgt-1024": TransformerConfig(),
    "parity-tiny": TransformerConfig(
        num_layers=2,
        num_single_layers=3,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=24,
        pooled_projection_dim=20,
        axes_dims_rope=(4, 6, 6),
        vocab_size=72,
        codebook_size=64,
    ),
    "tiny": TransformerConfig(
        num_layers=2,
        num_single_layers=4,
        attention_head_dim=32,
        num_attention_heads=4,
        joint_attention_dim=64,
        pooled_projection_dim=64,
        axes_dims_rope=(8, 12, 12),
        vocab_size=257,
        codebook_size=256,
    ),
}

VQ_CONFIGS: Dict[str, VQConfig] = {
    "amused": VQConfig(),
    "tiny": VQConfig(
        block_out_channels=[32, 64, 64],
        layers_per_block=1,
        latent_channels=32,
        num_vq_embeddings=256,
        norm_num_groups=16,
    ),
}


def _resolve(configs: Dict[str, Any], spec: Any, default_base: str) -> Any:
    """A copy of the named config, or a named base with the dict's fields replaced."""
    config_type = type(configs[default_base])
    if isinstance(spec, config_type):
        return spec
    if isinstance(spec, str):
        if spec not in configs:
            raise KeyError(f"unknown config {spec!r}; known: {sorted(configs)}")
        return dataclasses.replace(configs[spec])
    overrides = dict(spec)
    base = overrides.pop("base", default_base)
    return dataclasses.replace(_resolve(configs, base, default_base), **overrides)


def transformer_config(spec: Union[str, Dict[str, Any], TransformerConfig] = "editmgt-1024") -> TransformerConfig:
    """Transformer config from a name (``editmgt-1024``, ``parity-tiny``, ``tiny``), a dict or a config."""
    config = _resolve(TRANSFORMER_CONFIGS, spec, "editmgt-1024")
    return dataclasses.replace(config, axes_dims_rope=tuple(config.axes_dims_rope))


def vq_config(spec: Union[str, Dict[str, Any], VQConfig] = "amused") -> VQConfig:
    """VQ config from a name (``amused``, ``tiny``), a dict of fields (optionally with ``base``) or a VQConfig."""
    return _resolve(VQ_CONFIGS, spec, "amused")
