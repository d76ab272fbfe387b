"""Named model configurations: the real EditMGT dimensions, the upstream-parity tiny model, the shipped tiny model.

``vq_config(name_or_dict)`` and ``transformer_config(name_or_dict)`` accept a config name, a dict of overrides
(``{"base": "tiny", "hidden": ...}`` or plain field values), or a ready config object.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Union

from .vq import VQConfig

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


def vq_config(spec: Union[str, Dict[str, Any], VQConfig] = "amused") -> VQConfig:
    """VQ config from a name (``amused``, ``tiny``), a dict of fields (optionally with ``base``) or a VQConfig."""
    return _resolve(VQ_CONFIGS, spec, "amused")
