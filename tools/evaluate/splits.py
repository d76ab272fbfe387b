"""Strict successes of one evaluated setting split the ways the model card discusses: by the shape an
edit draws or removes, by how an object edit names its object (shape alone or colour and shape), and by
the kind of held-out case (unseen phrasing or unseen colour x shape combination).

    /usr/bin/python3 -m tools.evaluate.splits --report models/editmgt-tiny/figures/eval/report.json

Prints markdown tables of "successes / cases" for the setting the report chose as default (or
``--setting NAME``).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

from tools.data.domain import EDIT_TYPES, OBJECT_EDITS, SHAPES, names_object_by_shape


def drawn_shape(instruction: str) -> str:
    """The shape an edit draws or removes: the instruction's last shape word ("-" for none)."""
    shapes = [word for word in instruction.split() if word in SHAPES]
    return shapes[-1] if shapes else "-"


def naming(case: dict) -> str:
    """How an object edit names its object: "shape alone" or "colour and shape" ("-" for other edits)."""
    if case["type"] not in OBJECT_EDITS:
        return "-"
    return "shape alone" if names_object_by_shape(case["instruction"], case["type"]) else "colour and shape"


def held_out_kind(case: dict) -> str:
    """"phrasing", "combination" or "in distribution"."""
    if case.get("held_out_phrasing"):
        return "phrasing"
    return "combination" if case.get("held_out_combo") else "in distribution"


def tally(pairs: Iterable[Tuple[dict, bool]], key) -> Dict[str, Dict[str, List[int]]]:
    """{edit type: {key(case): [successes, cases]}}."""
    counts: Dict[str, Dict[str, List[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for case, success in pairs:
        cell = counts[case["type"]][key(case)]
        cell[0] += int(success)
        cell[1] += 1
    return counts


def table(title: str, counts: Dict[str, Dict[str, List[int]]], columns: Sequence[str]) -> str:
    """Markdown table: one row per edit type that has any of ``columns``, "successes / cases" cells."""
    lines = [f"| {title} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for edit_type in EDIT_TYPES:
        cells = counts.get(edit_type, {})
        if not any(column in cells for column in columns):
            continue
        row = [f"{cells[c][0]} / {cells[c][1]}" if c in cells else "" for c in columns]
        lines.append(f"| {edit_type} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def splits(report: dict, cases: Sequence[dict], setting: str | None = None) -> str:
    """The three tables for ``setting`` (default: the report's chosen default) of an evaluation report."""
    name = setting or report["choice"]["default"]["name"]
    run = next((r for r in report["runs"] if r["setting"]["name"] == name), None)
    if run is None:
        raise SystemExit(f"no setting {name!r} in the report: {[r['setting']['name'] for r in report['runs']]}")
    by_id = {case["id"]: case for case in cases}
    pairs = [(by_id[row["id"]], bool(row["strict_success"])) for row in run["rows"]]
    return "\n\n".join([
        f"Strict successes / cases, setting `{name}`",
        table("drawn or removed shape", tally(pairs, lambda c: drawn_shape(c["instruction"])), SHAPES),
        table("object named by", tally(pairs, naming), ("shape alone", "colour and shape")),
        table("case", tally(pairs, held_out_kind), ("in distribution", "phrasing", "combination")),
    ])


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", type=Path, default=Path("models/editmgt-tiny/figures/eval/report.json"))
    parser.add_argument("--eval", type=Path, default=Path("models/editmgt-tiny/eval"))
    parser.add_argument("--setting")
    args = parser.parse_args()
    cases = json.loads((args.eval / "index.json").read_text())["cases"]
    print(splits(json.loads(args.report.read_text()), cases, args.setting))


if __name__ == "__main__":
    main()
