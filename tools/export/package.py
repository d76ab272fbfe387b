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
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from . import manifest as manifest_lib
from .graphs import TextEncoder, TransformerStep, VQDecoder, VQEncoder
from .onnx_io import EXTERNAL_DATA_THRESHOLD, ExportResult, export_graph
from .variants import check_variants, quantized_variant, variant_entry, variant_file

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
    """A text encoder with its tokenizer.json and the role it serves.

    Role "both": ``encoder(ids)`` returns ``(context, pooled)`` (the tiny model's single encoder). Role
    "context" or "pooled": ``encoder`` is a graph module whose ``OUTPUTS`` is ``(role,)`` (the real model's
    Gemma-2 context graph and CLIP pooled graph, ``tools/export/text_graphs.py``). ``length`` is the
    encoder's input length (default: the package's context text length).
    """

    name: str
    role: str  # "context" | "pooled" | "both"
    encoder: nn.Module
    tokenizer_json: Path
    context_dim: int
    pooled_dim: int
    vocab_size: int
    length: Optional[int] = None


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
                   external_data_threshold: int = EXTERNAL_DATA_THRESHOLD, validate: bool = True,
                   variants: Optional[Mapping[str, Sequence[str]]] = None,
                   variant_devices: Optional[Mapping[str, Sequence[str]]] = None) -> PackageReport:
    """Write every component of a model package into ``out`` and its manifest; return the report.

    ``text`` may be empty (a converted checkpoint before its text encoders exist); the manifest then
    lacks text components, which the TS loader refuses, and validation skips the text rules.

    ``variants`` maps a component name to the other weight types to write beside its base files
    (``transformer.fp16.onnx``, ``transformer.int8.onnx``, ``transformer.q4.onnx``; see
    ``tools/export/variants.py``): fp16 is traced like an fp16 package, int8 and q4 are rewrites of the
    fp32 base file. ``variant_devices`` maps a dtype to the devices on which ``dtype: "auto"`` picks it
    (default: fp16 on webgpu only).
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
    variants = dict(variants or {})
    check_variants(variants, dtype)
    reports: List[ComponentReport] = []
    components: List[Dict[str, Any]] = []
    fp16_variants: Dict[str, ExportResult] = {}

    def export(name: str, wrap: Callable[[bool], nn.Module], args, input_names, **graph_options) -> ExportResult:
        """Export ``wrap(fp16)`` as ``NAME.onnx``; also ``wrap(True)`` as ``NAME.fp16.onnx`` if asked for."""
        result = export_graph(wrap(fp16), args, input_names, out, f"{name}.onnx", fp16=fp16,
                              external_data_threshold=external_data_threshold, **graph_options)
        if "fp16" in variants.get(name, ()):
            fp16_variants[name] = export_graph(wrap(True), args, input_names, out, variant_file(name, "fp16"),
                                               fp16=True, external_data_threshold=external_data_threshold,
                                               **graph_options)
        return result

    def record(name: str, kind: str, result, role: Optional[str] = None):
        entry = manifest_lib.component(out, name, kind, result.files, dtype, role)
        for variant in variants.get(name, ()):
            if variant == "fp16":
                entry.setdefault("variants", []).append(
                    variant_entry(out, "fp16", fp16_variants[name].files, variant_devices))
            else:
                entry.setdefault("variants", []).append(quantized_variant(
                    out, name, result.files[0], variant, devices=variant_devices,
                    external_data_threshold=external_data_threshold)[0])
        components.append(entry)
        reports.append(ComponentReport(name, result.files, sum(f["bytes"] for f in entry["files"]), result.seconds))

    for part in text:
        tokenizer_name = "tokenizer.json" if len(text) == 1 else f"{part.name}.tokenizer.json"
        if Path(part.tokenizer_json).resolve() != (out / tokenizer_name).resolve():
            shutil.copyfile(part.tokenizer_json, out / tokenizer_name)
        tokenizer_role = "context" if part.role == "both" else part.role
        components.append(manifest_lib.component(out, f"{part.name}_tokenizer" if len(text) > 1 else "tokenizer",
                                                 "tokenizer", [tokenizer_name], None, tokenizer_role))
        length = part.length or spec.text_length
        ids = torch.randint(0, part.vocab_size, (2, length), generator=torch.Generator().manual_seed(0))

        def wrap(half: bool, part: TextComponent = part) -> nn.Module:
            graph = for_export(part.encoder, half)
            return TextEncoder(graph) if part.role == "both" else graph

        graph = wrap(False)  # the module itself (no copy): its OUTPUTS
        outputs = ("context", "pooled") if part.role == "both" else (part.role,)
        if tuple(graph.OUTPUTS) != outputs:
            raise ValueError(f"{part.name}: a {part.role} text encoder graph must output {outputs}, not {graph.OUTPUTS}")
        shapes = {"context": "context [B,T,D]", "pooled": "pooled [B,P]"}
        result = export(part.name, wrap, (ids,), ["input_ids"],
                        dynamic_axes={name: {0: "batch"} for name in ("input_ids", *outputs)},
                        doc=f"text encoder: input_ids int64 [B,{length}] -> "
                            + ", ".join(shapes[name] for name in outputs))
        record(part.name, "text-encoder", result, role=part.role)

    pixels = torch.rand(1, 3, spec.resolution, spec.resolution, generator=torch.Generator().manual_seed(0))
    result = export("vq_encoder", lambda half: VQEncoder(for_export(vq, half)), (pixels,), ["pixels"],
                    doc="VQ encoder: pixels float32 [1,3,H,W] in [0,1] -> tokens int64 [1,h,w]")
    record("vq_encoder", "vq-encoder", result)
    tokens = torch.randint(0, config.codebook_size + 1, (1, *vq_grid), generator=torch.Generator().manual_seed(0))
    result = export("vq_decoder", lambda half: VQDecoder(for_export(vq, half)), (tokens,), ["tokens"],
                    doc="VQ decoder: tokens int64 [1,h,w] (mask id -> 0) -> pixels float32 [1,3,H,W] in [0,1]")
    record("vq_decoder", "vq-decoder", result)

    example = step_example_inputs(config, vq_grid, spec.text_length, spec.micro_conds)
    result = export("transformer",
                    lambda half: TransformerStep(for_export(transformer, half), spec.localization_blocks),
                    example, STEP_INPUTS,
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
