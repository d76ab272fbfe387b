"""Export a model package (ONNX components + tokenizer + manifest.json) from the tiny model's checkpoints.

    /usr/bin/python3 -m tools.export --config tiny --checkpoint runs/tiny --out models/editmgt-tiny
    /usr/bin/python3 -m tools.export --checkpoint runs/transformer/final.pt --vq-checkpoint runs/vq/final.pt --out DIR
    /usr/bin/python3 -m tools.export --config tiny --random-weights 0 --out /tmp/tiny-random [--fp16]
        [--variant transformer=fp16,int8,q4] [--variant-devices q4=node,wasm]

``--checkpoint`` takes a bundle folder of tools/train/bundle.py or a transformer final.pt. Real
EditMGT/Meissonic checkpoints go through ``python3 -m tools.convert``. The test fixture package and its
goldens come from ``python3 -m tools.export.fixture``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tools.editmgt.configs import transformer_config, vq_config
from tools.editmgt.text_encoder import TextEncoderConfig

from .fixture import WORDS
from .models import from_training_checkpoints, random_bundle
from .onnx_io import EXTERNAL_DATA_THRESHOLD
from .package import default_localization_blocks, export_package
from .variants import parse_assignment


def _blocks(text: str):
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="tiny", help="transformer config name (tiny, parity-tiny, editmgt-1024)")
    parser.add_argument("--vq-config", default="tiny", help="VQ config name for --random-weights (tiny, amused)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="bundle folder (tools/train/bundle.py) or transformer final.pt")
    source.add_argument("--random-weights", type=int, metavar="SEED", help="random weights (tests, measurements)")
    parser.add_argument("--vq-checkpoint", type=Path, help="VQ final.pt when --checkpoint is a file")
    parser.add_argument("--tokenizer", type=Path, help="tokenizer.json (default: beside the checkpoint)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--id", default="editmgt-tiny")
    parser.add_argument("--version", default="0.1.0")
    parser.add_argument("--source", help="manifest 'source' text")
    parser.add_argument("--resolution", type=int, help="pixels (default: the micro-conditioning width)")
    parser.add_argument("--localization-blocks", type=_blocks, help="comma-separated global block indices")
    parser.add_argument("--fp16", action="store_true", help="fp16 weights and compute (fp32 norms and sampling)")
    parser.add_argument("--external-data-threshold", type=int, default=EXTERNAL_DATA_THRESHOLD,
                        help="weight bytes above which a graph's weights go to NAME.onnx.data")
    parser.add_argument("--variant", action="append", type=parse_assignment, default=[],
                        help="COMPONENT=DTYPE[,DTYPE]: weight variants (fp16, int8, q4) beside the base files")
    parser.add_argument("--variant-devices", action="append", type=parse_assignment, default=[],
                        help="DTYPE=DEVICE[,DEVICE]: where dtype auto picks the variant (default: fp16=webgpu; "
                             "int8 and q4 nowhere)")
    args = parser.parse_args()

    if args.checkpoint is not None:
        bundle = from_training_checkpoints(args.checkpoint, args.vq_checkpoint, args.tokenizer, args.config)
        source = args.source or f"trained by tools/train ({args.checkpoint})"
    else:
        config = transformer_config(args.config)
        resolution = args.resolution or 16 * vq_config(args.vq_config).downsample_factor
        text = TextEncoderConfig(vocab_size=len(WORDS) + 2, width=config.joint_attention_dim,
                                 pooled_dim=config.pooled_projection_dim)
        bundle = random_bundle(args.config, args.vq_config, text, WORDS, args.out, [resolution, resolution, 0, 0, 6],
                               "step-index" if args.config == "editmgt-1024" else "mask-ratio",
                               default_localization_blocks(config), args.random_weights)
        source = args.source or f"random weights (seed {args.random_weights}), config {args.config}"
    if args.localization_blocks:
        bundle.localization_blocks = args.localization_blocks
    spec = bundle.spec(args.id, args.version, source, args.resolution)
    report = export_package(args.out, spec, bundle.transformer, bundle.vq, bundle.text, fp16=args.fp16,
                            external_data_threshold=args.external_data_threshold, variants=dict(args.variant),
                            variant_devices=dict(args.variant_devices))
    print(report.table())
    print(json.dumps({"manifest": str(args.out / "manifest.json"),
                      "components": [c.__dict__ for c in report.components]}))


if __name__ == "__main__":
    main()
