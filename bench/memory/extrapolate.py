"""Full-depth peak-memory estimates from the real-width, layer-reduced session measurements.

    /usr/bin/python3 -m bench.memory.extrapolate [--results bench/memory/results/real-widths.jsonl]

Method: every layer a graph runs is read whole during a forward pass, and its activations are freed before
the next layer starts, so a session's peak grows by the weight bytes of the layers it lacks and by nothing
else. Estimate = measured peak + (full-depth layers - measured layers) x fp32 bytes per layer. The layer
sizes come from the configs (Gemma-2-2B: 77,865,984 parameters per decoder layer, 25 used for
hidden_states[-2], 1 in the reduced graph; CLIP-H: 12,596,224 per layer, 24 vs 2; transformer: per
double and single block from the module, 14 + 28 vs 1 + 1). The VQ is measured at full size. Embedding
tables are memory-mapped by onnxruntime-node from the external data file and only the rows looked up
become resident, so the estimate does not include Gemma's whole 2.36 GB table (it would if the file were
read into memory instead).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tools.editmgt.configs import transformer_config
from tools.editmgt.transformer import Transformer2DModel

GEMMA_LAYER, CLIP_LAYER = 77_865_984, 12_596_224
FLOAT32 = 4


def block_parameters():
    """Parameters of one double and one single transformer block at real width."""
    model = Transformer2DModel(transformer_config({"num_layers": 1, "num_single_layers": 1}))
    count = lambda prefix: sum(p.numel() for n, p in model.named_parameters() if n.startswith(prefix))
    return count("transformer_blocks.0."), count("single_transformer_blocks.0.")


def main() -> None:
    """Print a Markdown table of measured and extrapolated peaks (GiB) and write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("bench/memory/results/real-widths.jsonl"))
    parser.add_argument("--json", type=Path, default=Path("bench/memory/results/extrapolated.json"))
    args = parser.parse_args()
    double, single = block_parameters()
    missing = {"gemma": (25 - 1) * GEMMA_LAYER, "clip": (24 - 2) * CLIP_LAYER,
               "transformer": 13 * double + 27 * single, "vq_encoder": 0, "vq_decoder": 0}
    depth = {"gemma": "1 of 25 layers", "clip": "2 of 24 layers", "transformer": "1 + 1 of 14 + 28 blocks",
             "vq_encoder": "full", "vq_decoder": "full"}
    rows = []
    for line in args.results.read_text().splitlines():
        measured = json.loads(line)
        name = measured["component"]
        estimate = measured["peakRss"] + missing[name] * FLOAT32
        rows.append({"component": name, "measuredDepth": depth[name], "fileBytes": measured["fileBytes"],
                     "peakRss": measured["peakRss"], "fullDepthPeakEstimate": estimate})
    gib = lambda value: f"{value / 2**30:.2f}"
    print("| component | measured at | graph file (GiB) | peak RSS (GiB) | full depth, estimated (GiB) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['component']} | {row['measuredDepth']} | {gib(row['fileBytes'])} | {gib(row['peakRss'])} "
              f"| {gib(row['fullDepthPeakEstimate'])} |")
    args.json.write_text(json.dumps({"doubleBlockParameters": double, "singleBlockParameters": single,
                                     "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
