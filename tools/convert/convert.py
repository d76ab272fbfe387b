"""Convert a released snapshot: strict loads (checkpoint.py, text_encoders.py), then export the package.

The package is written into a temporary folder beside ``out`` and renamed to ``out`` at the end, so a
failure (a bad key, a full disk, an interrupt) leaves no half-written package behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tools.export.manifest import UPSTREAM_NEGATIVE_PROMPT
from tools.export.onnx_io import EXTERNAL_DATA_THRESHOLD
from tools.export.package import PackageSpec, default_localization_blocks, export_package

from .checkpoint import CheckpointError, load_checkpoint
from .text_encoders import load_text_encoders

# upstream infer.py / GEditBench settings (reference/upstream-editmgt.md section 9)
VARIANTS = {"gemma": ("fp16", "int8", "q4"), "clip": ("fp16", "int8", "q4"), "transformer": ("fp16", "int8", "q4"),
            "vq_encoder": ("fp16",), "vq_decoder": ("fp16",)}
"""The variants ``--variants all`` writes: every weight type for the matmul-heavy graphs, fp16 for the VQ."""

UPSTREAM_DEFAULTS = {"steps": 36, "guidance": 6.0, "gamma": 1.1, "lambda": "auto", "temperature": [2, 0],
                     "schedule": "cosine", "negativePrompt": UPSTREAM_NEGATIVE_PROMPT}


def convert(source: Path, out: Path, *, resolution: int = 1024, localization_blocks=None, fp16: bool = False,
            variant=None, model_id: str = "editmgt", version: str = "1.0.0", license: str = "NOASSERTION",
            external_data_threshold: int = EXTERNAL_DATA_THRESHOLD, replace: bool = False, variants=None,
            log=print):
    """Load the snapshot ``source`` strictly and write its model package to ``out``.

    ``variants`` maps component names to the extra weight types to write (``VARIANTS`` for the released
    model's big graphs). ``dtype: "auto"`` picks fp16 on WebGPU; int8 and q4 load on request until their
    accuracy on the real weights is measured (``tools.export.variants --devices`` lists them then).
    Returns (key reports by component, package report, notes on what was done to the tokenizers).
    ``out`` must not exist unless ``replace``; it appears only once the whole package is written.
    """
    source, out = Path(source), Path(out)
    if out.exists() and not replace:
        raise CheckpointError(f"{out} already exists; remove it or pass --replace")
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        transformer, vq, reports = load_checkpoint(source, variant)
        text = load_text_encoders(source, partial, variant, log)
        reports.update(text.reports)
        package = _export(partial, source, transformer, vq, text, resolution, localization_blocks, fp16, model_id,
                          version, license, external_data_threshold, variants, log)
        if out.exists():
            previous = out.parent / f".{out.name}.previous-{os.getpid()}"
            out.rename(previous)
            partial.rename(out)
            shutil.rmtree(previous)
        else:
            partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return reports, package, text.notes


def _export(partial, source, transformer, vq, text, resolution, localization_blocks, fp16, model_id, version,
            license, external_data_threshold, variants, log):
    """Export the loaded modules as a package into the temporary folder ``partial``."""
    spec = PackageSpec(
        model_id=model_id, version=version, license=license,
        source=f"converted by tools/convert from {source.resolve().name}",
        resolution=resolution, timestep="step-index", micro_conds=[resolution, resolution, 0, 0, 6],
        localization_blocks=localization_blocks or default_localization_blocks(transformer.config),
        text_length=text.context_length, pad_token_id=text.pad_token_id, text_extra=text.text_layout,
        defaults=dict(UPSTREAM_DEFAULTS))
    log(f"exporting the package into {partial}")
    return export_package(partial, spec, transformer, vq, text=text.components, fp16=fp16,
                          external_data_threshold=external_data_threshold, variants=variants)
