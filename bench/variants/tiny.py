"""The tiny model's transformer variants through the product pipeline (``deno task eval``).

    /usr/bin/python3 -m bench.variants.tiny copy int8 [--package models/editmgt-tiny] [--out /tmp/tiny-variants]
        [--min-elements 4096] [--block-size 32]
    /usr/bin/python3 -m bench.variants.tiny summary [--out /tmp/tiny-variants] [--json FILE]

``copy`` makes a copy of a package whose base transformer is its int8 or q4 rewrite (the eval has no
dtype option; this evaluates exactly the variant's graph).

It writes ``OUT/DTYPE/``: the package's files (not its eval set or figures), ``transformer.onnx``
replaced by the rewrite of the original (tools/export/quantize.py with the transformer options of
tools/export/variants.py) and a regenerated, validated manifest whose transformer has that dtype.
bench/variants/tiny_eval.sh then runs the evaluation (examples/eval/eval.ts, what ``deno task eval``
runs) on each copy and device, default setting only, into ``OUT/eval-DTYPE-DEVICE/``. ``summary``
collects those reports into one table: strict success, success and leakage of the default setting, and transformer
bytes per variant.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from tools.export import manifest as manifest_lib
from tools.export.quantize import QUANTIZED_DTYPES, quantize_file
from tools.export.variants import quantize_options

DEFAULT_SETTING = "upstream (lambda 0)"  # the tiny model's manifest defaults (lambda 0)


def copy_with_variant(args: argparse.Namespace) -> None:
    """The ``copy`` command: OUT/DTYPE with the rewritten transformer as its base."""
    folder = args.out / args.dtype
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(args.package, folder, ignore=shutil.ignore_patterns("eval", "figures", "*.int8.onnx",
                                                                       "*.q4.onnx", "*.fp16.onnx"))
    manifest = json.loads((folder / "manifest.json").read_text())
    component = next(c for c in manifest["components"] if c["name"] == "transformer")
    options = quantize_options("transformer", args.min_elements, args.block_size)
    files, report = quantize_file(args.package / component["files"][0]["path"], folder, "transformer.onnx",
                                  args.dtype, options)
    component.update(manifest_lib.component(folder, "transformer", "transformer", files, args.dtype))
    component.pop("variants", None)
    manifest_lib.write_manifest(folder, manifest)
    print(json.dumps({"folder": str(folder), "bytes": component["files"][0]["bytes"], **report.summary()}))


def summary(args: argparse.Namespace) -> None:
    """The ``summary`` command: one row per (dtype, device) report of the default setting."""
    rows = []
    for report_path in sorted(args.out.glob("eval-*-*/report.json")):
        _, dtype, device = report_path.parent.name.split("-")
        report = json.loads(report_path.read_text())
        default = next(c for c in report["configurations"] if c["name"] == DEFAULT_SETTING)["raw"]["all"]
        manifest = args.package if dtype == "fp32" else args.out / dtype
        transformer = next(c for c in json.loads((manifest / "manifest.json").read_text())["components"]
                           if c["name"] == "transformer")
        rows.append({"dtype": dtype, "device": device, "cases": default["count"],
                     "strictSuccess": default["strictSuccess"], "success": default["success"],
                     "leakage": default["leakage"], "transformerBytes": transformer["files"][0]["bytes"],
                     "command": report["command"]})
    text = json.dumps({"setting": DEFAULT_SETTING, "rows": rows}, indent=2) + "\n"
    if args.json:
        args.json.write_text(text)
    print(text)


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy", help="a package copy whose base transformer is the variant")
    copy.add_argument("dtype", choices=QUANTIZED_DTYPES)
    copy.add_argument("--min-elements", type=int, default=4096)
    copy.add_argument("--block-size", type=int, default=32)
    table = commands.add_parser("summary", help="collect the eval reports")
    table.add_argument("--json", type=Path)
    for command in (copy, table):
        command.add_argument("--package", type=Path, default=Path("models/editmgt-tiny"))
        command.add_argument("--out", type=Path, default=Path("/tmp/tiny-variants"))
    args = parser.parse_args()
    (copy_with_variant if args.command == "copy" else summary)(args)


if __name__ == "__main__":
    main()
