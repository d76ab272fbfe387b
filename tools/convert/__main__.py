"""Convert an EditMGT/Meissonic checkpoint folder into a model package.

    /usr/bin/python3 -m tools.convert SRC OUT [--fp16] [--variant fp16] [--resolution 1024]

SRC is a Hugging Face style folder (``editmgt/`` or ``transformer/``, ``vqvae/``; safetensors, single
or sharded). The transformer and the VQ are loaded with strict key matching; any missing, unexpected or
mis-shaped tensor stops the conversion with a readable report. OUT receives the VQ encoder and decoder,
the transformer step graph (external data when over 2 GB) and manifest.json. The text encoders
(Gemma-2 context states, CLIP pooled) are exported by a later tool; until then the manifest has no text
components and the TS loader will not accept the package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.export.onnx_io import EXTERNAL_DATA_THRESHOLD

from .checkpoint import CheckpointError
from .convert import convert
from .report import CheckpointMismatchError


def main() -> int:
    """Command-line entry point (see module doc); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--variant", help="weights variant to read: fp16 = diffusion_pytorch_model.fp16.safetensors")
    parser.add_argument("--fp16", action="store_true", help="export fp16 graphs")
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--text-length", type=int, default=256, help="context tokens (Gemma: 256)")
    parser.add_argument("--pad-side", choices=("left", "right"), default="left", help="context padding (Gemma: left)")
    parser.add_argument("--localization-blocks", type=lambda s: [int(v) for v in s.split(",")],
                        help="global block indices (default: upstream's 28-36 when present)")
    parser.add_argument("--id", default="editmgt")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--license", default="NOASSERTION", help="SPDX id of the checkpoint's license")
    parser.add_argument("--external-data-threshold", type=int, default=EXTERNAL_DATA_THRESHOLD)
    args = parser.parse_args()
    try:
        reports, package = convert(
            args.source, args.out, resolution=args.resolution, text_length=args.text_length, pad_side=args.pad_side,
            localization_blocks=args.localization_blocks, fp16=args.fp16, variant=args.variant, model_id=args.id,
            version=args.version, license=args.license, external_data_threshold=args.external_data_threshold)
    except (CheckpointError, CheckpointMismatchError) as error:
        print(f"conversion failed: {error}", file=sys.stderr)
        return 1
    for name, report in reports.items():
        print(f"{name}: {report.format()}")
    print(package.table())
    print("note: no text encoders yet (exported separately); the manifest lists graph components only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
