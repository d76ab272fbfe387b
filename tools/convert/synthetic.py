"""Write synthetic EditMGT snapshots (real layout, real key names, random weights) for tests.

    /usr/bin/python3 -m tools.convert.synthetic SNAPSHOT [--real-widths] [--seed N]

The layout is the one the Hugging Face repository ``WeiChow/EditMGT`` has and upstream's pipeline loads
(``Meissonic`` has ``transformer/`` instead of ``editmgt/`` and no Gemma):

    model_index.json
    editmgt/        config.json  diffusion_pytorch_model.safetensors     the transformer
    vqvae/          config.json  diffusion_pytorch_model.safetensors     the VQ
    text_encoder/   config.json  model.safetensors                      CLIP text tower with projection
    tokenizer/      vocab.json merges.txt tokenizer_config.json ...     CLIP tokenizer (slow files only)
    llm_encoder/    config.json  model.safetensors  tokenizer.json ...  Gemma-2 and its tokenizer
    scheduler/      scheduler_config.json

Tiny dimensions by default (converts and edits in seconds); ``--real-widths`` keeps every real width and
vocabulary but few layers (Gemma 2, CLIP 2, transformer 1 double + 1 single block, the real VQ), for
memory and error measurements at real size. The VQ and text-encoder key names and shapes are derived
here from the configs alone (``vq_shapes``, ``text_shapes``), so the converter's strict loading is
checked against an independent description of the released checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
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
        value = _normal_float32(rng, shape)
        if key.endswith("bias"):
            value *= 0.02
        elif len(shape) == 1:
            value *= 0.1
            value += 1.0
        elif not ("embedding" in key or key.endswith("embed.embeddings.weight")):
            value /= np.sqrt(np.prod(shape[1:]))
        state[key] = value
    return state


def _normal_float32(rng: np.random.Generator, shape: Shape, chunk: int = 1 << 24) -> np.ndarray:
    """``rng.standard_normal(shape).astype(float32)``, drawn in chunks of the same stream (same values)
    so that a real-vocabulary embedding never holds a float64 copy (2.4 GB of float32 for Gemma's)."""
    out = np.empty(shape, np.float32)
    flat = out.reshape(-1)
    for start in range(0, flat.size, chunk):
        flat[start:start + chunk] = rng.standard_normal(min(chunk, flat.size - start))
    return out


def write_component(folder, config: Mapping[str, Any], state: Mapping[str, np.ndarray],
                    dtype: str = "F32", shards: int = 1, weights_name: str = WEIGHTS_NAME) -> None:
    """Write ``config.json`` and the weights of one component folder.

    ``weights_name`` is diffusers' ``diffusion_pytorch_model.safetensors`` or transformers'
    ``model.safetensors``. ``shards > 1`` splits the tensors over several files with a
    ``.safetensors.index.json`` weight map, as ``save_pretrained`` does for large models.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(dict(config), indent=2) + "\n")
    if shards == 1:
        write_safetensors(folder / weights_name, state, {"format": "pt"}, dtype=dtype)
        return
    keys = sorted(state)
    weight_map = {}
    stem = weights_name[: -len(".safetensors")]
    for index in range(shards):
        part = keys[index::shards]
        name = f"{stem}-{index + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(folder / name, {k: state[k] for k in part}, {"format": "pt"}, dtype=dtype)
        weight_map.update({k: name for k in part})
    index_doc = {"metadata": {"total_size": int(sum(v.nbytes for v in state.values()))}, "weight_map": weight_map}
    (folder / f"{weights_name}.index.json").write_text(json.dumps(index_doc, indent=2) + "\n")


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


HF_WEIGHTS_NAME = "model.safetensors"

TINY_TRANSFORMER: Dict[str, Any] = {"num_layers": 1, "num_single_layers": 2, "attention_head_dim": 16,
                                    "num_attention_heads": 2, "axes_dims_rope": [4, 6, 6], "vocab_size": 72,
                                    "codebook_size": 64}
TINY_VQ: Dict[str, Any] = {"block_out_channels": [16, 32, 32], "layers_per_block": 1, "latent_channels": 16,
                           "num_vq_embeddings": 64, "norm_num_groups": 8}
TINY_RESOLUTION = 64
"""Pixels of the tiny synthetic snapshot: the tiny VQ downsamples 4x (16x16 tokens, 8x8 transformer grid)."""


@dataclass
class SyntheticSnapshot:
    """What ``write_snapshot`` wrote: the folder and the resolution its VQ and transformer fit."""

    folder: Path
    resolution: int
    parameters: Dict[str, int]


def _transformer_config(real_widths: bool, context_dim: int, pooled_dim: int) -> Dict[str, Any]:
    """Upstream ``editmgt/config.json`` for the EditMGT layout (Gemma connector, CLIP pooled)."""
    from tools.editmgt.configs import transformer_config

    fields = {"num_layers": 1, "num_single_layers": 1} if real_widths else dict(TINY_TRANSFORMER)
    config = dataclasses.asdict(transformer_config(dict(fields, joint_attention_dim=context_dim,
                                                        pooled_projection_dim=pooled_dim)))
    config["axes_dims_rope"] = list(config["axes_dims_rope"])
    return {"_class_name": "Transformer2DModel", "patch_size": 1, "in_channels": 64, "guidance_embeds": False,
            "text_encoder_architecture": "CLIP_Gemma2", **config}


def write_snapshot(folder, real_widths: bool = False, seed: int = 0) -> SyntheticSnapshot:
    """Write a synthetic EditMGT snapshot (module doc) into ``folder``; random weights drawn from ``seed``."""
    from tools.editmgt.transformer import Transformer2DModel, TransformerConfig
    from tools.convert.report import module_shapes
    from .text_shapes import CLIP_H_TEXT_CONFIG, CLIP_TEXT_TINY, GEMMA2_2B_CONFIG, GEMMA2_TINY, clip_text_shapes, \
        gemma2_shapes
    from .tokenizers import synthetic_clip_tokenizer, synthetic_gemma_tokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clip_vocab = synthetic_clip_tokenizer(folder / "tokenizer").vocab_size
    gemma_vocab = synthetic_gemma_tokenizer(folder / "llm_encoder").vocab_size
    if real_widths:
        gemma = dict(GEMMA2_2B_CONFIG, num_hidden_layers=2)
        clip = dict(CLIP_H_TEXT_CONFIG, num_hidden_layers=2)
        vq = dict(AMUSED_VQ_CONFIG)
    else:
        gemma = dict(GEMMA2_2B_CONFIG, **GEMMA2_TINY, vocab_size=gemma_vocab)
        clip = dict(CLIP_H_TEXT_CONFIG, **CLIP_TEXT_TINY, vocab_size=clip_vocab)
        vq = dict(AMUSED_VQ_CONFIG, **TINY_VQ)
    if gemma["vocab_size"] < gemma_vocab or clip["vocab_size"] < clip_vocab:
        raise ValueError("the synthetic tokenizers have more ids than the text encoders' vocabularies")
    transformer = _transformer_config(real_widths, gemma["hidden_size"], clip["projection_dim"])
    fields = {f.name for f in dataclasses.fields(TransformerConfig)}
    transformer_shapes = module_shapes(Transformer2DModel(TransformerConfig(
        **{k: (tuple(v) if k == "axes_dims_rope" else v) for k, v in transformer.items() if k in fields})))
    dtype = "BF16" if real_widths else "F32"
    shapes = {"editmgt": transformer_shapes, "vqvae": vq_shapes(vq), "text_encoder": clip_text_shapes(clip),
              "llm_encoder": gemma2_shapes(gemma)}
    write_component(folder / "editmgt", transformer, random_state(shapes["editmgt"], seed), dtype)
    write_component(folder / "vqvae", vq, random_state(shapes["vqvae"], seed + 1), dtype)
    write_component(folder / "text_encoder", clip, random_state(shapes["text_encoder"], seed + 2), dtype,
                    weights_name=HF_WEIGHTS_NAME)
    write_component(folder / "llm_encoder", gemma, random_state(shapes["llm_encoder"], seed + 3), dtype,
                    shards=2, weights_name=HF_WEIGHTS_NAME)
    (folder / "scheduler").mkdir(exist_ok=True)
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(
        {"_class_name": "Scheduler", "mask_token_id": transformer["vocab_size"] - 1,
         "masking_schedule": "cosine"}, indent=2) + "\n")
    index = {"_class_name": "Pipeline", "editmgt": ["src.transformer", "Transformer2DModel"],
             "vqvae": ["diffusers", "VQModel"], "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "llm_encoder": ["transformers", "Gemma2ForCausalLM"],
             "scheduler": ["src.scheduler", "Scheduler"]}
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    resolution = 1024 if real_widths else TINY_RESOLUTION
    parameters = {name: int(sum(np.prod(shape) for shape in value.values())) for name, value in shapes.items()}
    return SyntheticSnapshot(folder, resolution, parameters)


def main() -> int:
    """Command-line entry point (module doc); prints what was written."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshot", type=Path, help="folder to write (created)")
    parser.add_argument("--real-widths", action="store_true", help="real widths and vocabularies, few layers")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    snapshot = write_snapshot(args.snapshot, args.real_widths, args.seed)
    for name, count in snapshot.parameters.items():
        print(f"{name:<13} {count:>14,} parameters")
    print(f"wrote {snapshot.folder}; convert it with: /usr/bin/python3 -m tools.convert {snapshot.folder} OUT"
          f" --resolution {snapshot.resolution}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
