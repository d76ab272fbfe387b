"""Convert a checkpoint folder: strict load (checkpoint.py), then export the package (tools/export)."""

from __future__ import annotations

from pathlib import Path

from tools.export.manifest import UPSTREAM_NEGATIVE_PROMPT
from tools.export.onnx_io import EXTERNAL_DATA_THRESHOLD
from tools.export.package import PackageSpec, default_localization_blocks, export_package

from .checkpoint import load_checkpoint

# upstream infer.py / GEditBench settings (reference/upstream-editmgt.md section 9)
UPSTREAM_DEFAULTS = {"steps": 36, "guidance": 6.0, "gamma": 1.1, "lambda": "auto", "temperature": [2, 0],
                     "schedule": "cosine", "negativePrompt": UPSTREAM_NEGATIVE_PROMPT}


def convert(source: Path, out: Path, *, resolution: int = 1024, text_length: int = 256, pad_side: str = "left",
            pad_token_id: int = 0, localization_blocks=None, fp16: bool = False, variant=None,
            model_id: str = "editmgt", version: str = "1.0.0", license: str = "NOASSERTION",
            external_data_threshold: int = EXTERNAL_DATA_THRESHOLD):
    """Load SRC strictly and export its package to OUT; returns (key reports, package report)."""
    transformer, vq, reports = load_checkpoint(source, variant)
    spec = PackageSpec(
        model_id=model_id, version=version, license=license,
        source=f"converted by tools/convert from {Path(source).resolve().name}",
        resolution=resolution, timestep="step-index", micro_conds=[resolution, resolution, 0, 0, 6],
        localization_blocks=localization_blocks or default_localization_blocks(transformer.config),
        text_length=text_length, pad_token_id=pad_token_id, text_extra={"padSide": pad_side},
        defaults=dict(UPSTREAM_DEFAULTS))
    package = export_package(out, spec, transformer, vq, text=(), fp16=fp16,
                             external_data_threshold=external_data_threshold)
    return reports, package
