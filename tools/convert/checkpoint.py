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
from tools.safetensors import read_header, read_safetensors

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


FLOAT_DTYPES = ("F32", "F16", "BF16")


def weight_files(folder: Path, stem: str = WEIGHTS_STEM, variant: Optional[str] = None) -> Dict[str, Path]:
    """Each stored tensor name -> the safetensors file holding it.

    Reads ``{stem}[.{variant}].safetensors``, or every shard of its sharded ``.index.json`` (a tensor a
    shard holds but the index omits is still found, so strict loading reports it); ``stem`` is diffusers'
    ``diffusion_pytorch_model`` or transformers' ``model``.
    """
    folder = Path(folder)
    name = f"{stem}.{variant}.safetensors" if variant else f"{stem}.safetensors"
    single, index = folder / name, folder / f"{name}.index.json"
    if single.exists():
        return {key: single for key in read_header(single)[0]}
    if index.exists():
        weight_map: Mapping[str, str] = json.loads(index.read_text())["weight_map"]
        missing = sorted({shard for shard in weight_map.values() if not (folder / shard).exists()})
        if missing:
            raise CheckpointError(f"{index}: lists shards that are not in the folder: {', '.join(missing)}")
        files: Dict[str, Path] = {}
        for shard in sorted(set(weight_map.values())):
            files.update({key: folder / shard for key in read_header(folder / shard)[0]})
        for key, shard in weight_map.items():
            if files.get(key) != folder / shard:
                raise CheckpointError(f"{index}: maps {key!r} to {shard}, which does not hold it")
        return files
    raise CheckpointError(f"{folder}: neither {name} nor {name}.index.json")


def check_weight_dtypes(files: Mapping[str, Path]) -> None:
    """Refuse any stored tensor that is not a floating-point weight (F32, F16, BF16), naming file and key."""
    for path in sorted(set(files.values())):
        for key, info in read_header(path)[0].items():
            if info.dtype not in FLOAT_DTYPES:
                raise CheckpointError(f"{path}: tensor {key!r} has dtype {info.dtype}; weights must be "
                                      f"{', '.join(FLOAT_DTYPES)}")


def read_component(folder: Path, variant: Optional[str] = None, stem: str = WEIGHTS_STEM
                   ) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """(config.json, float32 state dict) of one component folder (``weight_files`` says which files)."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.exists():
        raise CheckpointError(f"{folder}: missing config.json")
    config = json.loads(config_path.read_text())
    files = weight_files(folder, stem, variant)
    check_weight_dtypes(files)
    state: Dict[str, np.ndarray] = {}
    for shard in sorted(set(files.values())):
        state.update(read_safetensors(shard, [k for k, v in files.items() if v == shard]))
    return config, state


def source_label(name: str, folder: Path, stem: str = WEIGHTS_STEM, variant: Optional[str] = None) -> str:
    """``name (folder: file, ...)``: what a key report names as the files it read."""
    files = sorted({path.name for path in weight_files(folder, stem, variant).values()})
    return f"{name} ({Path(folder)}: {', '.join(files)})"


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
    reports = {"transformer": load_strict(transformer, state, source_label("transformer", transformer_folder,
                                                                           variant=variant))}
    del state
    config, state = read_component(root / VQ_FOLDER, variant)
    vq = VQModel(vq_config_from(config))
    reports["vq"] = load_strict(vq, state, source_label("VQ", root / VQ_FOLDER, variant=variant))
    return transformer.eval(), vq.eval(), reports
