"""Convert a local copy of the released EditMGT snapshot into one model package.

    /usr/bin/python3 -m tools.convert SNAPSHOT OUT [--resolution 1024] [--fp16] [--variant fp16] [--replace]

SNAPSHOT is the folder layout upstream's pipeline loads (``WeiChow/EditMGT``): ``editmgt/`` (or
Meissonic's ``transformer/``), ``vqvae/``, ``text_encoder/`` + ``tokenizer/`` (CLIP) and ``llm_encoder/``
(Gemma-2 and its tokenizer); safetensors, single or sharded, F32/F16/BF16. Every component is loaded with
strict key matching: a missing folder, a missing or extra key, a wrong shape or a non-float tensor stops
the conversion with an error naming the file and the key. OUT receives the manifest, an ONNX graph per
component (external data beyond 2 GB, every file with its sha256) and the tokenizers; it is written in a
temporary folder and renamed at the end. Try it without the real weights:

    /usr/bin/python3 -m tools.convert.synthetic /tmp/snapshot
    /usr/bin/python3 -m tools.convert /tmp/snapshot /tmp/editmgt-synthetic --resolution 64
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.export.onnx_io import EXTERNAL_DATA_THRESHOLD
from tools.safetensors import SafetensorsError

from .checkpoint import CheckpointError
from .convert import VARIANTS, convert
from .report import CheckpointMismatchError


def parse_variants(text: str):
    """``all`` -> ``VARIANTS``; ``name=dtype,dtype;name=dtype`` -> a mapping; empty -> None."""
    if not text:
        return None
    if text == "all":
        return dict(VARIANTS)
    variants = {}
    for entry in text.split(";"):
        name, _, dtypes = entry.partition("=")
        if not dtypes:
            raise SystemExit(f"--variants: {entry!r} is not NAME=DTYPE[,DTYPE]")
        variants[name.strip()] = tuple(d.strip() for d in dtypes.split(","))
    return variants


def main() -> int:
    """Command-line entry point (see module doc); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the snapshot folder")
    parser.add_argument("out", type=Path, help="the package folder to write (must not exist, see --replace)")
    parser.add_argument("--variant", help="weights file variant to read, e.g. fp16 = *.fp16.safetensors")
    parser.add_argument("--fp16", action="store_true", help="export fp16 graphs")
    parser.add_argument("--resolution", type=int, default=1024, help="pixels the model works at (1024)")
    parser.add_argument("--localization-blocks", type=lambda s: [int(v) for v in s.split(",")],
                        help="global block indices (default: upstream's 28-36 when present)")
    parser.add_argument("--id", default="editmgt")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--license", default="NOASSERTION", help="SPDX id of the checkpoint's license")
    parser.add_argument("--replace", action="store_true", help="replace OUT if it exists (only once done)")
    parser.add_argument("--variants", default="", help="extra weight variants: 'all' (fp16, int8 and q4 of "
                        "Gemma, CLIP and the transformer, fp16 of the VQ) or e.g. 'transformer=q4,int8;gemma=q4'")
    parser.add_argument("--external-data-threshold", type=int, default=EXTERNAL_DATA_THRESHOLD)
    args = parser.parse_args()
    try:
        reports, package, notes = convert(
            args.source, args.out, resolution=args.resolution, localization_blocks=args.localization_blocks,
            fp16=args.fp16, variant=args.variant, model_id=args.id, version=args.version, license=args.license,
            external_data_threshold=args.external_data_threshold, replace=args.replace,
            variants=parse_variants(args.variants))
    except (CheckpointError, CheckpointMismatchError, SafetensorsError) as error:
        print(f"conversion failed: {error}", file=sys.stderr)
        return 1
    for name, report in reports.items():
        print(f"{name}: {report.format()}")
    for note in notes:
        print(f"note: {note}")
    print(package.table())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
