"""Summaries of evaluation runs: the choice of default settings, report.md tables and the case grid PNG."""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np
from PIL import Image, ImageDraw

from tools.data.domain import EDIT_TYPES
from tools.data.metrics import summarize


def summarize_run(rows: Sequence[dict]) -> Dict[str, dict]:
    """metrics.summarize (per type/split, "in", "held_out", "all") plus "macro": the mean over edit types of
    each type's strict success (every type counts the same, whatever its case count)."""
    summary = summarize([{k: v for k, v in r.items() if k not in ("id", "seconds")} for r in rows])
    types = [t for t in EDIT_TYPES if t in summary]
    summary["macro"] = {key: float(np.mean([summary[t][key] for t in types]))
                        for key in ("strict_success", "success", "leakage", "fidelity")}
    return summary


def score(summary: Dict[str, dict]) -> tuple:
    """Ranking key of a setting: macro strict success, then lower leakage."""
    return (round(summary["macro"]["strict_success"], 3), -summary["all"]["leakage"])


def choose(runs: List[dict]) -> Dict[str, dict]:
    """Best run with region hold off, and best run overall (the shipped defaults), by ``score``."""
    off = [r for r in runs if r["setting"]["lam"] == 0]
    best_off = max(off, key=lambda r: score(r["summary"])) if off else None
    best = max(runs, key=lambda r: score(r["summary"]))
    return {"hold_off": best_off, "default": best}


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def settings_table(runs: List[dict]) -> str:
    """Markdown table: one line per setting (strict success macro/in/held-out, success, leakage, IoU, time)."""
    lines = ["| setting | guidance | gamma | lambda | rows | strict (types mean) | strict in-dist | strict held-out "
             "| success (lenient) | leakage | fidelity | loc. IoU | auto: no hold | s/edit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        s, st = run["summary"], run["setting"]
        iou = s["all"].get("localization_iou")
        no_hold = _pct(s["all"]["held_nothing"]) if st["lam"] == "auto" else ""
        lines.append(
            f"| {st['name']} | {st['guidance']:g} | {st['gamma']:g} | {st['lam']} | {st['rows']} "
            f"| {_pct(s['macro']['strict_success'])} | {_pct(s['in']['strict_success'])} "
            f"| {_pct(s['held_out']['strict_success'])} | {_pct(s['all']['success'])} | {s['all']['leakage']:.1f} "
            f"| {s['all']['fidelity']:.1f} | {'' if iou is None else f'{iou:.2f}'} | {no_hold} "
            f"| {run['seconds_per_edit']:.2f} |")
    return "\n".join(lines)


def per_type_table(runs: Dict[str, dict], ceiling: Dict[str, dict]) -> str:
    """Markdown table per edit type: strict success in-distribution / held-out and leakage of each named run,
    with the VQ ceiling (strict success of the ground truth's own VQ reconstruction)."""
    names = list(runs)
    header = "| edit type | " + " | ".join(f"{n}: strict in / held-out | {n}: leakage | {n}: loc. IoU"
                                          for n in names) + " | VQ ceiling strict |"
    lines = [header, "|---|" + "---|---|---|" * len(names) + "---|"]
    for edit_type in list(EDIT_TYPES) + ["all"]:
        split = ("in", "held_out") if edit_type == "all" else (f"{edit_type}/in", f"{edit_type}/held_out")
        cells = []
        for name in names:
            s = runs[name]["summary"]
            if edit_type not in s:
                cells.append("- | - | -")
                continue
            strict = [_pct(s[k]["strict_success"]) if k in s else "-" for k in split]
            iou = s[edit_type].get("localization_iou")
            cells.append(f"{strict[0]} / {strict[1]} | {s[edit_type]['leakage']:.1f} | "
                         f"{'' if iou is None else f'{iou:.2f}'}")
        vq = _pct(ceiling[edit_type]["vq_ceiling_strict"]) if edit_type in ceiling else "-"
        lines.append(f"| {edit_type} | " + " | ".join(cells) + f" | {vq} |")
    return "\n".join(lines)


def grid_image(cases: Sequence[dict], sources: Dict[str, np.ndarray], targets: Dict[str, np.ndarray],
               columns: Dict[str, Dict[str, np.ndarray]], scale: int = 2, per_column: int = 18) -> Image.Image:
    """Rows of source | ground truth | each output column, with the instruction and the edit type beside;
    ``columns`` maps a column title ("heading: setting name", drawn on two lines) to {case id: image}."""
    size = 64 * scale
    text_width, pad, header = 230, 6, 28
    cell_width = size * (2 + len(columns)) + text_width
    titles = ["source", "ground truth"] + list(columns)
    blocks = [cases[i : i + per_column] for i in range(0, len(cases), per_column)]
    width = len(blocks) * (cell_width + pad)
    height = header + per_column * (size + pad)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for b, block in enumerate(blocks):
        x0 = b * (cell_width + pad)
        for c, title in enumerate(titles):
            for k, line in enumerate(title.split(": ", 1)):
                draw.text((x0 + c * size + 2, 2 + 12 * k), line, fill="black")
        for r, case in enumerate(block):
            y = header + r * (size + pad)
            images = [sources[case["id"]], targets[case["id"]]] + [col[case["id"]] for col in columns.values()]
            for c, image in enumerate(images):
                tile = Image.fromarray(image).resize((size, size), Image.NEAREST)
                canvas.paste(tile, (x0 + c * size, y))
            label = f"{case['type']}{' (held out)' if case['held_out'] else ''}"
            draw.text((x0 + len(images) * size + 4, y + 4), label, fill="black")
            for k, line in enumerate(_wrap(case["instruction"], 34)):
                draw.text((x0 + len(images) * size + 4, y + 20 + 12 * k), line, fill=(60, 60, 60))
    return canvas


def _wrap(text: str, width: int) -> List[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])
