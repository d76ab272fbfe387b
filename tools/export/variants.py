"""Weight variants of a package's graphs: ``NAME.fp16.onnx``, ``NAME.int8.onnx``, ``NAME.q4.onnx``.

A component's manifest entry lists its variants (DESIGN section 3): each with its dtype, files (sha256,
bytes) and the devices on which ``dtype: "auto"`` picks it. fp16 variants are traced (see
``export_package(variants=...)``); int8 and q4 variants are rewrites of the fp32 base file
(``tools/export/quantize.py``), so they can also be added to an existing package:

    /usr/bin/python3 -m tools.export.variants models/editmgt-tiny transformer=int8,q4 \\
        [--devices int8=node,wasm] [--min-elements 4096] [--block-size 32]

which writes the variant files beside the base and rewrites ``manifest.json`` (validated) with them.
Rerunning replaces the variants named on the command line and keeps the others.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import manifest as manifest_lib
from .onnx_io import EXTERNAL_DATA_THRESHOLD
from .quantize import MIN_ELEMENTS, QUANTIZED_DTYPES, TRANSFORMER_KEEP, QuantizeOptions, QuantizeReport, \
    quantize_file

VARIANT_DTYPES = ("fp16",) + QUANTIZED_DTYPES
# Where dtype "auto" picks a variant unless told otherwise: fp16 on WebGPU (shader-f16). int8 and q4
# become defaults only where their measured loss is acceptable (bench/variants/README.md).
DEFAULT_DEVICES: Dict[str, Sequence[str]] = {"fp16": ("webgpu",)}


def variant_file(name: str, dtype: str) -> str:
    """The graph file of component ``name``'s ``dtype`` variant: ``NAME.DTYPE.onnx``."""
    return f"{name}.{dtype}.onnx"


def check_variants(variants: Mapping[str, Sequence[str]], base_dtype: str) -> None:
    """Raise ValueError for an unknown dtype, a repeated one, the base dtype, or a rewrite of a non-fp32 base."""
    for name, dtypes in variants.items():
        for dtype in dtypes:
            if dtype not in VARIANT_DTYPES:
                raise ValueError(f"{name}: unknown variant dtype {dtype!r}; known: {VARIANT_DTYPES}")
            if dtype == base_dtype:
                raise ValueError(f"{name}: a variant cannot have the base files' dtype {dtype}")
            if dtype in QUANTIZED_DTYPES and base_dtype != "fp32":
                raise ValueError(f"{name}: {dtype} variants are rewrites of fp32 base files, not {base_dtype}")
        if len(set(dtypes)) != len(dtypes):
            raise ValueError(f"{name}: repeated variant dtype in {list(dtypes)}")


def quantize_options(name: str, min_elements: int = MIN_ELEMENTS, block_size: int = 32) -> QuantizeOptions:
    """The rewrite options of component ``name``: the transformer keeps its MLM head in float32."""
    keep = TRANSFORMER_KEEP if name == "transformer" else ()
    return QuantizeOptions(min_elements=min_elements, block_size=block_size, keep=keep)


def variant_entry(folder: Path, dtype: str, files: Sequence[str],
                  devices: Optional[Mapping[str, Sequence[str]]] = None) -> Dict[str, Any]:
    """The manifest entry of one variant; ``devices`` maps dtypes to devices, over ``DEFAULT_DEVICES``
    (``{"fp16": []}`` takes fp16 off WebGPU)."""
    chosen = {**DEFAULT_DEVICES, **(devices or {})}.get(dtype)
    return manifest_lib.variant(folder, dtype, files, chosen)


def quantized_variant(folder: Path, name: str, base_file: str, dtype: str,
                      options: Optional[QuantizeOptions] = None,
                      devices: Optional[Mapping[str, Sequence[str]]] = None,
                      external_data_threshold: int = EXTERNAL_DATA_THRESHOLD) -> Tuple[Dict[str, Any], QuantizeReport]:
    """Write the int8 or q4 variant of ``folder/base_file`` as ``NAME.DTYPE.onnx``; its entry and report."""
    files, report = quantize_file(Path(folder) / base_file, folder, variant_file(name, dtype), dtype,
                                  options or quantize_options(name), external_data_threshold)
    return variant_entry(folder, dtype, files, devices), report


def add_variants(folder: Path, variants: Mapping[str, Sequence[str]],
                 devices: Optional[Mapping[str, Sequence[str]]] = None,
                 options: Optional[Mapping[str, QuantizeOptions]] = None,
                 validate: bool = True) -> Tuple[Dict[str, Any], List[QuantizeReport]]:
    """Add int8/q4 variants to the package in ``folder`` and rewrite its manifest; return it and the reports.

    ``variants`` maps component names to dtypes; ``options`` optionally maps component names to rewrite
    options (default ``quantize_options(name)``). Variants of other dtypes already listed are kept.
    """
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    components = {c["name"]: c for c in manifest["components"]}
    reports = []
    for name, dtypes in variants.items():
        if name not in components or components[name]["kind"] == "tokenizer":
            raise ValueError(f"{name}: no graph component of that name in {folder / 'manifest.json'}")
        component = components[name]
        base_dtype = component.get("dtype", "fp32")
        check_variants({name: dtypes}, base_dtype)
        if any(dtype not in QUANTIZED_DTYPES for dtype in dtypes):
            raise ValueError(f"{name}: only {QUANTIZED_DTYPES} variants can be added to an existing package")
        kept = [v for v in component.get("variants", []) if v["dtype"] not in dtypes]
        for dtype in dtypes:
            entry, report = quantized_variant(folder, name, component["files"][0]["path"], dtype,
                                              (options or {}).get(name), devices)
            kept.append(entry)
            reports.append(report)
        component["variants"] = sorted(kept, key=lambda v: VARIANT_DTYPES.index(v["dtype"]))
    manifest_lib.write_manifest(folder, manifest, validate=validate)
    return manifest, reports


def parse_assignment(text: str) -> Tuple[str, List[str]]:
    """``"transformer=int8,q4"`` -> ``("transformer", ["int8", "q4"])`` (command-line values)."""
    key, _, values = text.partition("=")
    return key, [v for v in values.split(",") if v]


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("package", type=Path, help="folder with manifest.json")
    parser.add_argument("variants", nargs="+", type=parse_assignment, help="COMPONENT=DTYPE[,DTYPE] (int8, q4)")
    parser.add_argument("--devices", action="append", type=parse_assignment, default=[],
                        help="DTYPE=DEVICE[,DEVICE]: where dtype auto picks it (default: int8, q4 nowhere)")
    parser.add_argument("--min-elements", type=int, default=MIN_ELEMENTS, help="smaller weights stay float32")
    parser.add_argument("--block-size", type=int, default=32, help="q4 block length along K")
    args = parser.parse_args()
    variants = dict(args.variants)
    options = {name: quantize_options(name, args.min_elements, args.block_size) for name in variants}
    manifest, reports = add_variants(args.package, variants, dict(args.devices), options)
    print(json.dumps([r.summary() for r in reports], indent=2))


if __name__ == "__main__":
    main()
