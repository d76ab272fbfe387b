"""Write synthetic EditMGT-style checkpoint folders (real key names, any dimensions) for tests.

The layout is the one the Hugging Face repositories use (``WeiChow/EditMGT``, ``MeissonFlow/Meissonic``):

    model_index.json
    editmgt/ (or transformer/)  config.json  diffusion_pytorch_model.safetensors
    vqvae/                      config.json  diffusion_pytorch_model.safetensors

The VQ key names and shapes are derived here from the diffusers ``VQModel`` configuration alone, so the
converter's strict loading is checked against an independent description of the released checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from tools.safetensors import write_safetensors

Shape = Tuple[int, ...]

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"

AMUSED_VQ_CONFIG: Dict[str, Any] = {
    "_class_name": "VQModel",
    "act_fn": "silu",
    "block_out_channels": [128, 256, 256, 512, 768],
    "down_block_types": ["DownEncoderBlock2D"] * 5,
    "up_block_types": ["UpDecoderBlock2D"] * 5,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 64,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "norm_type": "group",
    "num_vq_embeddings": 8192,
    "vq_embed_dim": None,
    "mid_block_add_attention": False,
    "lookup_from_codebook": True,
    "force_upcast": True,
    "sample_size": 32,
    "scaling_factor": 0.18215,
}


def _conv(shapes: Dict[str, Shape], prefix: str, cin: int, cout: int, k: int) -> None:
    shapes[f"{prefix}.weight"] = (cout, cin, k, k)
    shapes[f"{prefix}.bias"] = (cout,)


def _norm(shapes: Dict[str, Shape], prefix: str, channels: int) -> None:
    shapes[f"{prefix}.weight"] = (channels,)
    shapes[f"{prefix}.bias"] = (channels,)


def _resnet(shapes: Dict[str, Shape], prefix: str, cin: int, cout: int) -> None:
    _norm(shapes, f"{prefix}.norm1", cin)
    _conv(shapes, f"{prefix}.conv1", cin, cout, 3)
    _norm(shapes, f"{prefix}.norm2", cout)
    _conv(shapes, f"{prefix}.conv2", cout, cout, 3)
    if cin != cout:
        _conv(shapes, f"{prefix}.conv_shortcut", cin, cout, 1)


def vq_shapes(config: Mapping[str, Any]) -> Dict[str, Shape]:
    """State-dict keys and shapes of a diffusers ``VQModel`` (group norm, mid block without attention).

    Follows diffusers' ``Encoder``/``Decoder``: ``DownEncoderBlock2D`` with ``layers_per_block`` resnets and a
    3x3 stride-2 downsampler on all but the last block, ``UpDecoderBlock2D`` with ``layers_per_block + 1``
    resnets and an upsampler conv on all but the last, two mid-block resnets, ``double_z=False``.
    """
    channels = list(config["block_out_channels"])
    layers = int(config["layers_per_block"])
    latent = int(config["latent_channels"])
    embed_dim = int(config.get("vq_embed_dim") or latent)
    shapes: Dict[str, Shape] = {}
    _conv(shapes, "encoder.conv_in", int(config.get("in_channels", 3)), channels[0], 3)
    for i, cout in enumerate(channels):
        cin = channels[max(i - 1, 0)]
        for j in range(layers):
            _resnet(shapes, f"encoder.down_blocks.{i}.resnets.{j}", cin if j == 0 else cout, cout)
        if i < len(channels) - 1:
            _conv(shapes, f"encoder.down_blocks.{i}.downsamplers.0.conv", cout, cout, 3)
    for j in range(2):
        _resnet(shapes, f"encoder.mid_block.resnets.{j}", channels[-1], channels[-1])
    _norm(shapes, "encoder.conv_norm_out", channels[-1])
    _conv(shapes, "encoder.conv_out", channels[-1], latent, 3)
    _conv(shapes, "quant_conv", latent, embed_dim, 1)
    shapes["quantize.embedding.weight"] = (int(config["num_vq_embeddings"]), embed_dim)
    _conv(shapes, "post_quant_conv", embed_dim, latent, 1)
    reversed_channels = channels[::-1]
    _conv(shapes, "decoder.conv_in", latent, reversed_channels[0], 3)
    for j in range(2):
        _resnet(shapes, f"decoder.mid_block.resnets.{j}", reversed_channels[0], reversed_channels[0])
    for i, cout in enumerate(reversed_channels):
        cin = reversed_channels[max(i - 1, 0)]
        for j in range(layers + 1):
            _resnet(shapes, f"decoder.up_blocks.{i}.resnets.{j}", cin if j == 0 else cout, cout)
        if i < len(reversed_channels) - 1:
            _conv(shapes, f"decoder.up_blocks.{i}.upsamplers.0.conv", cout, cout, 3)
    _norm(shapes, "decoder.conv_norm_out", reversed_channels[-1])
    _conv(shapes, "decoder.conv_out", reversed_channels[-1], int(config.get("out_channels", 3)), 3)
    return shapes


def random_state(shapes: Mapping[str, Shape], seed: int) -> Dict[str, np.ndarray]:
    """Random float32 tensors for the given shapes, scaled so that a forward pass stays finite.

    1-D ``weight`` (norm scales): 1 + 0.1 N(0,1); biases: 0.02 N(0,1); embeddings (2-D, no fan-in
    meaning): N(0,1); other weights: N(0,1)/sqrt(fan_in).
    """
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in shapes.items():
        noise = rng.standard_normal(shape).astype(np.float32)
        if key.endswith("bias"):
            value = 0.02 * noise
        elif len(shape) == 1:
            value = 1.0 + 0.1 * noise
        elif "embedding" in key or key.endswith("embed.embeddings.weight"):
            value = noise
        else:
            value = noise / np.sqrt(np.prod(shape[1:]))
        state[key] = value.astype(np.float32)
    return state


def write_component(folder, config: Mapping[str, Any], state: Mapping[str, np.ndarray],
                    dtype: str = "F32", shards: int = 1) -> None:
    """Write ``config.json`` and the weights of one diffusers component folder.

    ``shards > 1`` splits the tensors over several files with a ``.safetensors.index.json`` weight map,
    as ``save_pretrained`` does for large models.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(dict(config), indent=2) + "\n")
    if shards == 1:
        write_safetensors(folder / WEIGHTS_NAME, state, {"format": "pt"}, dtype=dtype)
        return
    keys = sorted(state)
    weight_map = {}
    stem = WEIGHTS_NAME[: -len(".safetensors")]
    for index in range(shards):
        part = keys[index::shards]
        name = f"{stem}-{index + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(folder / name, {k: state[k] for k in part}, {"format": "pt"}, dtype=dtype)
        weight_map.update({k: name for k in part})
    index_doc = {"metadata": {"total_size": int(sum(v.nbytes for v in state.values()))}, "weight_map": weight_map}
    (folder / f"{WEIGHTS_NAME}.index.json").write_text(json.dumps(index_doc, indent=2) + "\n")


def write_checkpoint(folder, transformer_config: Mapping[str, Any], transformer_state: Mapping[str, np.ndarray],
                     vq_config: Mapping[str, Any], vq_state: Mapping[str, np.ndarray],
                     transformer_subfolder: str = "editmgt", dtype: str = "F32", shards: int = 1,
                     scheduler_config: Optional[Mapping[str, Any]] = None) -> Path:
    """Write a checkpoint folder with ``model_index.json``, the transformer and the VQ (and a scheduler config)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_component(folder / transformer_subfolder, transformer_config, transformer_state, dtype, shards)
    write_component(folder / "vqvae", vq_config, vq_state, dtype)
    if scheduler_config is not None:
        (folder / "scheduler").mkdir(exist_ok=True)
        (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(dict(scheduler_config), indent=2))
    index = {
        "_class_name": "Pipeline",
        transformer_subfolder: ["src.transformer", "Transformer2DModel"],
        "vqvae": ["diffusers", "VQModel"],
    }
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    return folder
