"""Training-curve figure of the tiny model from its JSON-lines logs (PIL only; no plotting library here).

    /usr/bin/python3 -m tools.evaluate.figures --runs runs --out models/editmgt-tiny/figures/training.png

Left: the transformer's training loss and masked-token accuracy with the validation accuracies (random
masks, and tokens inside the edit); right: the VQ's batch PSNR.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from PIL import Image, ImageDraw

Series = Tuple[str, Tuple[int, int, int], List[Tuple[float, float]]]


def read_log(path: Path) -> List[dict]:
    """Records of a JSON-lines log that carry a step (start/resume events dropped)."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if "step" in r and "event" not in r]


def series(records: Sequence[dict], key: str, scale: float = 1.0) -> List[Tuple[float, float]]:
    """(step, value * scale) of the records that have ``key``, last record per step kept."""
    points: Dict[float, float] = {}
    for r in records:
        if key in r and r[key] is not None:
            points[float(r["step"])] = float(r[key]) * scale
    return sorted(points.items())


def plot(draw: ImageDraw.ImageDraw, box: Tuple[int, int, int, int], title: str, lines: Sequence[Series],
         y_range: Tuple[float, float], y_label: str, legend_bottom: bool = False) -> None:
    """Line chart of ``lines`` inside ``box`` (left, top, right, bottom) with axes, ticks and a legend
    (top right, or bottom right with ``legend_bottom``)."""
    left, top, right, bottom = box
    x_max = max((p[0] for _, _, pts in lines for p in pts), default=1.0) or 1.0
    y_min, y_max = y_range
    draw.rectangle(box, outline="black")
    draw.text((left, top - 28), title, fill="black")
    draw.text((left, top - 14), y_label, fill=(90, 90, 90))

    def to_xy(x: float, y: float) -> Tuple[float, float]:
        y = min(max(y, y_min), y_max)
        return (left + (right - left) * x / x_max, bottom - (bottom - top) * (y - y_min) / (y_max - y_min))

    for k in range(5):
        value = y_min + (y_max - y_min) * k / 4
        _, y = to_xy(0, value)
        draw.line([(left, y), (right, y)], fill=(225, 225, 225))
        draw.text((left - 34, y - 5), f"{value:.3g}", fill="black")
    for k in range(5):
        step = x_max * k / 4
        x, _ = to_xy(step, y_min)
        draw.text((x - 10, bottom + 4), f"{step:.0f}", fill="black")
    draw.text(((left + right) // 2 - 10, bottom + 16), "step", fill="black")
    legend_top = bottom - 10 - 14 * len(lines) if legend_bottom else top + 4
    for i, (name, color, points) in enumerate(lines):
        if len(points) > 1:
            draw.line([to_xy(x, y) for x, y in points], fill=color, width=2)
        y = legend_top + 14 * i
        draw.line([(right - 150, y + 6), (right - 134, y + 6)], fill=color, width=2)
        draw.text((right - 130, y), name, fill="black")


def training_figure(runs: Path) -> Image.Image:
    """The figure of a runs folder (runs/transformer/log.jsonl and runs/vq/log.jsonl)."""
    model = read_log(runs / "transformer" / "log.jsonl")
    vq = read_log(runs / "vq" / "log.jsonl")
    image = Image.new("RGB", (1080, 380), "white")
    draw = ImageDraw.Draw(image)
    loss = series(model, "loss")
    plot(draw, (50, 50, 330, 330), "transformer: training loss (masked CE)", [("train loss", (200, 40, 40), loss)],
         (0.0, float(math.ceil(max((v for _, v in loss), default=1.0)))), "cross-entropy (nats)")
    plot(draw, (400, 50, 680, 330), "transformer: masked-token accuracy %", [
        ("train", (200, 40, 40), series(model, "acc", 100)),
        ("val, random masks", (40, 80, 220), series(model, "val_random_acc", 100)),
        ("val, inside edits", (40, 170, 60), series(model, "val_random_edit_acc", 100)),
        ("val, region masks", (245, 140, 30), series(model, "val_region_edit_acc", 100)),
    ], (0.0, 100.0), "percent", legend_bottom=True)
    psnr = series(vq, "psnr")
    plot(draw, (760, 50, 1040, 330), "VQ: batch PSNR (dB)", [("train batch", (140, 60, 180), psnr)],
         (10.0, 40.0), "dB")
    return image


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    training_figure(args.runs).save(args.out, optimize=True)


if __name__ == "__main__":
    main()
