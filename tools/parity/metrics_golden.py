"""Golden numbers for the TypeScript evaluation metrics (examples/eval/metrics.ts).

    /usr/bin/python3 -m tools.parity.metrics_golden [--out tests/fixtures/eval-metrics]

Takes two cases of every edit type from the tiny model's evaluation set, makes outputs that exercise
every branch of the definitions in tools/data/METRICS.md (the ground truth, the unchanged source, the
ground truth shifted by one pixel, the ground truth with Gaussian noise), evaluates them with
``tools/data/metrics.py`` and writes the outputs as PNG next to ``golden.json``: per output the case,
``evaluate_case`` and ``localization_iou`` of a seeded random token map (multiples of 1/1024, exact in
float32 and JSON) at two thresholds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
from tools.data.metrics import evaluate_case, localization_iou

EVAL_SET = ROOT / "models" / "editmgt-tiny" / "eval"
CASES_PER_TYPE = 2
THRESHOLDS = (0.0, 0.35)
SEED = 20261127


def load(path: Path) -> np.ndarray:
    """An RGB image as uint8 [H, W, 3]."""
    return np.asarray(Image.open(path).convert("RGB"))


def outputs(source: np.ndarray, target: np.ndarray, rng: np.random.Generator):
    """The outputs to evaluate, by name."""
    noise = rng.normal(0, 6, target.shape)
    return {
        "target": target,
        "source": source,
        "shift1": np.roll(target, 1, axis=1),
        "noisy": np.clip(np.round(target + noise), 0, 255).astype(np.uint8),
    }


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "eval-metrics")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    index = json.loads((EVAL_SET / "index.json").read_text())
    rng = np.random.default_rng(SEED)
    chosen, counts = [], {}
    for case in index["cases"]:
        if counts.get(case["type"], 0) < CASES_PER_TYPE:
            counts[case["type"]] = counts.get(case["type"], 0) + 1
            chosen.append(case)
    records = []
    for case in chosen:
        source, target = load(EVAL_SET / case["source"]), load(EVAL_SET / case["target"])
        mask = load(EVAL_SET / case["mask"])[:, :, 0] > 127
        grid = (mask.shape[0] // 4, mask.shape[1] // 4)
        levels = rng.integers(0, 1024, grid)
        localization = (levels / 1024).astype(np.float32)  # exact in float32 and in JSON
        for name, output in outputs(source, target, rng).items():
            file = f"{case['id']}_{name}.png"
            Image.fromarray(output, "RGB").save(args.out / file)
            records.append({
                "case": case["id"],
                "output": file,
                "metrics": evaluate_case(output, source, target, mask, case["type"], case["key_color"]),
                "localization1024": levels.reshape(-1).tolist(),
                "localizationIou": {str(t): localization_iou(localization, mask, t) for t in THRESHOLDS},
            })
    document = {"source": "tools/parity/metrics_golden.py (tools/data/metrics.py)", "records": records}
    (args.out / "golden.json").write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {len(records)} records to {args.out / 'golden.json'}")


if __name__ == "__main__":
    main()
