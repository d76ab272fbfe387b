"""Read an EditMGT/Meissonic checkpoint folder and build strictly loaded torch modules from it.

Layout (Hugging Face ``WeiChow/EditMGT`` / ``MeissonFlow/Meissonic``): the transformer in ``editmgt/``
(EditMGT) or ``transformer/`` (Meissonic), the VQ in ``vqvae/``; each with ``config.json`` and
``diffusion_pytorch_model[.fp16].safetensors`` or a sharded ``...safetensors.index.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from tools.editmgt.transformer import Transformer2DModel, TransformerConfig
from tools.editmgt.vq import VQConfig, VQModel
from tools.safetensors import read_safetensors

from .report import KeyReport, load_strict

TRANSFORMER_FOLDERS = ("editmgt", "transformer")
VQ_FOLDER = "vqvae"
WEIGHTS_STEM = "diffusion_pytorch_model"

_TRANSFORMER_KEYS = ("num_layers", "num_single_layers", "attention_head_dim", "num_attention_heads",
                     "joint_attention_dim", "pooled_projection_dim", "axes_dims_rope", "vocab_size",
                     "codebook_size", "downsample", "upsample")
_VQ_KEYS = ("block_out_channels", "layers_per_block", "latent_channels", "num_vq_embeddings", "norm_num_groups",
            "in_channels", "out_channels")


class CheckpointError(ValueError):
    """The folder is not a checkpoint this converter understands; the message says what is missing."""


def find_transformer_folder(root: Path) -> Path:
    """``editmgt/`` (EditMGT) or ``transformer/`` (Meissonic) under the checkpoint root."""
    for name in TRANSFORMER_FOLDERS:
        if (Path(root) / name / "config.json").exists():
            return Path(root) / name
    raise CheckpointError(f"{root}: no transformer folder ({' or '.join(TRANSFORMER_FOLDERS)}) with a config.json")


def read_component(folder: Path, variant: Optional[str] = None) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """(config.json, float32 state dict) of one diffusers component folder.

    Picks ``diffusion_pytorch_model[.{variant}].safetensors``, or its sharded ``.index.json`` weight map.
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.exists():
        raise CheckpointError(f"{folder}: missing config.json")
    config = json.loads(config_path.read_text())
    name = f"{WEIGHTS_STEM}.{variant}.safetensors" if variant else f"{WEIGHTS_STEM}.safetensors"
    single, index = folder / name, folder / f"{name}.index.json"
    if single.exists():
        return config, read_safetensors(single)
    if index.exists():
        weight_map: Mapping[str, str] = json.loads(index.read_text())["weight_map"]
        state: Dict[str, np.ndarray] = {}
        for shard in sorted(set(weight_map.values())):
            names = [k for k, v in weight_map.items() if v == shard]
            state.update(read_safetensors(folder / shard, names))
        return config, state
    raise CheckpointError(f"{folder}: neither {name} nor {name}.index.json")


def transformer_config_from(config: Mapping[str, Any]) -> TransformerConfig:
    """Our ``TransformerConfig`` from an upstream ``Transformer2DModel`` config.json (missing keys: defaults)."""
    if config.get("guidance_embeds"):
        raise CheckpointError("guidance_embeds=true is not supported (EditMGT and Meissonic use false)")
    values = {k: config[k] for k in _TRANSFORMER_KEYS if k in config}
    if "axes_dims_rope" in values:
        values["axes_dims_rope"] = tuple(values["axes_dims_rope"])
    architecture = config.get("text_encoder_architecture", "CLIP")
    connector = config.get("connector_type", "none" if architecture == "CLIP" else "linear")
    return TransformerConfig(**values, connector_type=connector or "none")


def vq_config_from(config: Mapping[str, Any]) -> VQConfig:
    """Our ``VQConfig`` from a diffusers ``VQModel`` config.json; refuses variants the module does not build."""
    problems = []
    if config.get("norm_type", "group") != "group":
        problems.append(f"norm_type {config['norm_type']!r} (only 'group')")
    if config.get("mid_block_add_attention", True):
        problems.append("mid_block_add_attention=true (aMUSEd has none)")
    if config.get("act_fn", "silu") != "silu":
        problems.append(f"act_fn {config['act_fn']!r} (only 'silu')")
    embed_dim = config.get("vq_embed_dim")
    if embed_dim not in (None, config.get("latent_channels")):
        problems.append(f"vq_embed_dim {embed_dim} != latent_channels")
    for key, expected in (("down_block_types", "DownEncoderBlock2D"), ("up_block_types", "UpDecoderBlock2D")):
        if any(t != expected for t in config.get(key, [expected])):
            problems.append(f"{key} other than {expected}")
    if problems:
        raise CheckpointError("unsupported VQ config: " + "; ".join(problems))
    return VQConfig(**{k: config[k] for k in _VQ_KEYS if k in config})


def load_checkpoint(root: Path, variant: Optional[str] = None
                    ) -> Tuple[Transformer2DModel, VQModel, Dict[str, KeyReport]]:
    """Strictly load the transformer and the VQ of a checkpoint folder; reports by component.

    Raises ``CheckpointMismatchError`` (with the readable key report) on any missing, unexpected or
    mis-shaped tensor.
    """
    root = Path(root)
    transformer_folder = find_transformer_folder(root)
    config, state = read_component(transformer_folder, variant)
    transformer = Transformer2DModel(transformer_config_from(config))
    reports = {"transformer": load_strict(transformer, state, f"transformer ({transformer_folder})")}
    config, state = read_component(root / VQ_FOLDER, variant)
    vq = VQModel(vq_config_from(config))
    reports["vq"] = load_strict(vq, state, f"VQ ({root / VQ_FOLDER})")
    return transformer.eval(), vq.eval(), reports
