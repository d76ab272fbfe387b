"""Export a whole model package: ONNX components, tokenizer, ``manifest.json`` (DESIGN section 3).

``export_package`` takes built torch modules (from a checkpoint, a conversion or random weights) and a
``PackageSpec`` with what the modules cannot tell (id, resolution, conventions, defaults), writes every
component with ``onnx_io.export_graph`` and a manifest whose files carry sha256 and byte sizes.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from . import manifest as manifest_lib
from .graphs import TextEncoder, TransformerStep, VQDecoder, VQEncoder
from .onnx_io import EXTERNAL_DATA_THRESHOLD, export_graph

STEP_INPUTS = ("tokens", "ref_tokens", "context", "pooled", "micro_conds", "timestep", "log_gamma",
               "guidance_scale", "uniform")


@dataclass
class PackageSpec:
    """Facts about a model package that the torch modules do not carry."""

    model_id: str
    version: str
    source: str
    resolution: int
    timestep: str  # "step-index" (upstream inference) or "mask-ratio" (the tiny model)
    micro_conds: Sequence[float]
    localization_blocks: Sequence[int]
    text_length: int
    pad_token_id: int = 0
    text_extra: Dict[str, Any] = field(default_factory=dict)  # padSide, pooledLength, pooledPadTokenId
    license: str = "MIT"
    defaults: Dict[str, Any] = field(default_factory=lambda: {
        "steps": 12, "guidance": 2.0, "gamma": 1.1, "lambda": "auto", "temperature": [2, 0],
        "schedule": "cosine", "negativePrompt": ""})


@dataclass
class TextComponent:
    """A text encoder (ids -> (context, pooled)) with its tokenizer.json and the role it serves."""

    name: str
    role: str  # "context" | "pooled" | "both"
    encoder: nn.Module
    tokenizer_json: Path
    context_dim: int
    pooled_dim: int
    vocab_size: int


@dataclass
class ComponentReport:
    """What was written for one component and how long it took."""

    name: str
    files: List[str]
    bytes: int
    seconds: float


@dataclass
class PackageReport:
    """The manifest written and a report per component."""

    manifest: Dict[str, Any]
    components: List[ComponentReport]

    def table(self) -> str:
        """Human-readable summary (one line per component)."""
        lines = [f"{'component':<14} {'files':<44} {'bytes':>14} {'seconds':>8}"]
        for c in self.components:
            lines.append(f"{c.name:<14} {', '.join(c.files):<44} {c.bytes:>14,} {c.seconds:>8.2f}")
        return "\n".join(lines)


UPSTREAM_LOCALIZATION_BLOCKS = tuple(range(28, 37))  # upstream infer.py: single blocks 14-22


def default_localization_blocks(config) -> List[int]:
    """Upstream's band (global blocks 28-36) when the model has it, else the 2nd and 3rd single blocks."""
    count = config.num_layers + config.num_single_layers
    if count > UPSTREAM_LOCALIZATION_BLOCKS[-1]:
        return list(UPSTREAM_LOCALIZATION_BLOCKS)
    return [i for i in (config.num_layers + 1, config.num_layers + 2) if i < count] or [count - 1]


def for_export(module: nn.Module, fp16: bool) -> nn.Module:
    """The module to trace: a float64 copy for fp16 export (see fp16.py), else the module itself."""
    module = module.eval()
    return copy.deepcopy(module).double() if fp16 else module


def step_example_inputs(transformer_config, vq_grid: Tuple[int, int], text_length: int, micro_conds,
                        seed: int = 0) -> Tuple[torch.Tensor, ...]:
    """Contract-shaped example inputs of the step graph (used to trace; values do not matter)."""
    generator = torch.Generator().manual_seed(seed)
    height, width = vq_grid
    codebook = transformer_config.codebook_size
    return (
        torch.randint(0, codebook, (1, height, width), generator=generator),
        torch.randint(0, codebook, (1, height, width), generator=generator),
        torch.randn(2, text_length, transformer_config.joint_attention_dim, generator=generator),
        torch.randn(2, transformer_config.pooled_projection_dim, generator=generator),
        torch.tensor(list(micro_conds), dtype=torch.float32),
        torch.tensor([0.5]),
        torch.tensor(0.0953102),
        torch.tensor(2.0),
        torch.rand(1, height * width, generator=generator),
    )


def export_package(out: Path, spec: PackageSpec, transformer: nn.Module, vq: nn.Module,
                   text: Sequence[TextComponent] = (), fp16: bool = False,
                   external_data_threshold: int = EXTERNAL_DATA_THRESHOLD, validate: bool = True) -> PackageReport:
    """Write every component of a model package into ``out`` and its manifest; return the report.

    ``text`` may be empty (a converted checkpoint before its text encoders exist); the manifest then
    lacks text components, which the TS loader refuses, and validation skips the text rules.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = transformer.config
    downsample = 2 if config.downsample else 1
    factor = vq.config.downsample_factor
    vq_grid = (spec.resolution // factor, spec.resolution // factor)
    transformer_grid = (vq_grid[0] // downsample, vq_grid[1] // downsample)
    if config.codebook_size != vq.config.num_vq_embeddings:
        raise ValueError(f"transformer codebook {config.codebook_size} != VQ codebook {vq.config.num_vq_embeddings}")
    for part in text:
        if part.role in ("context", "both") and part.context_dim != config.joint_attention_dim:
            raise ValueError(f"{part.name}: context width {part.context_dim} != transformer "
                             f"joint_attention_dim {config.joint_attention_dim}")
        if part.role in ("pooled", "both") and part.pooled_dim != config.pooled_projection_dim:
            raise ValueError(f"{part.name}: pooled width {part.pooled_dim} != transformer "
                             f"pooled_projection_dim {config.pooled_projection_dim}")
    dtype = "fp16" if fp16 else "fp32"
    reports: List[ComponentReport] = []
    components: List[Dict[str, Any]] = []

    def record(name: str, kind: str, result, role: Optional[str] = None):
        entry = manifest_lib.component(out, name, kind, result.files, dtype, role)
        components.append(entry)
        reports.append(ComponentReport(name, result.files, sum(f["bytes"] for f in entry["files"]), result.seconds))

    for part in text:
        tokenizer_name = "tokenizer.json" if len(text) == 1 else f"{part.name}.tokenizer.json"
        if Path(part.tokenizer_json).resolve() != (out / tokenizer_name).resolve():
            shutil.copyfile(part.tokenizer_json, out / tokenizer_name)
        tokenizer_role = "context" if part.role == "both" else part.role
        components.append(manifest_lib.component(out, f"{part.name}_tokenizer" if len(text) > 1 else "tokenizer",
                                                 "tokenizer", [tokenizer_name], None, tokenizer_role))
        ids = torch.randint(0, part.vocab_size, (2, spec.text_length), generator=torch.Generator().manual_seed(0))
        result = export_graph(TextEncoder(for_export(part.encoder, fp16)), (ids,), ["input_ids"], out,
                              f"{part.name}.onnx", fp16=fp16, external_data_threshold=external_data_threshold,
                              dynamic_axes={"input_ids": {0: "batch"}, "context": {0: "batch"},
                                            "pooled": {0: "batch"}},
                              doc="text encoder: input_ids int64 [B,T] -> context [B,T,D], pooled [B,P]")
        record(part.name, "text-encoder", result, role=part.role)

    pixels = torch.rand(1, 3, spec.resolution, spec.resolution, generator=torch.Generator().manual_seed(0))
    result = export_graph(VQEncoder(for_export(vq, fp16)), (pixels,), ["pixels"], out, "vq_encoder.onnx",
                          fp16=fp16, external_data_threshold=external_data_threshold,
                          doc="VQ encoder: pixels float32 [1,3,H,W] in [0,1] -> tokens int64 [1,h,w]")
    record("vq_encoder", "vq-encoder", result)
    tokens = torch.randint(0, config.codebook_size + 1, (1, *vq_grid), generator=torch.Generator().manual_seed(0))
    result = export_graph(VQDecoder(for_export(vq, fp16)), (tokens,), ["tokens"], out, "vq_decoder.onnx",
                          fp16=fp16, external_data_threshold=external_data_threshold,
                          doc="VQ decoder: tokens int64 [1,h,w] (mask id -> 0) -> pixels float32 [1,3,H,W] in [0,1]")
    record("vq_decoder", "vq-decoder", result)

    step = TransformerStep(for_export(transformer, fp16), spec.localization_blocks)
    example = step_example_inputs(config, vq_grid, spec.text_length, spec.micro_conds)
    result = export_graph(step, example, STEP_INPUTS, out, "transformer.onnx", fp16=fp16,
                          external_data_threshold=external_data_threshold,
                          doc="EditMGT transformer step graph (DESIGN section 4; I/O in tools/export/graphs.py)")
    record("transformer", "transformer", result)

    manifest = manifest_lib.build_manifest(
        model_id=spec.model_id, version=spec.version, license=spec.license, source=spec.source,
        resolution=spec.resolution, vq_grid=vq_grid, codebook_size=config.codebook_size,
        mask_token_id=config.mask_token_id, transformer_grid=transformer_grid, timestep=spec.timestep,
        micro_conds=spec.micro_conds, localization_blocks=spec.localization_blocks,
        text={"length": spec.text_length, "contextDim": config.joint_attention_dim,
              "pooledDim": config.pooled_projection_dim, "padTokenId": spec.pad_token_id, **spec.text_extra},
        defaults=spec.defaults, components=components)
    manifest_lib.write_manifest(out, manifest, validate=validate, require_text=bool(text))
    return PackageReport(manifest, reports)
