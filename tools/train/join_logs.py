"""Joins the JSON-lines logs of a model's training parts (a run, then fine-tunes started with ``--init``)
into one log whose steps count on across the parts, for the training figure.

    /usr/bin/python3 -m tools.train.join_logs --out runs/lineage/transformer/log.jsonl \
        runs/transformer/log.jsonl runs/tuned/transformer/log.jsonl runs/tuned2/transformer/log.jsonl

Within a part, a resume rewinds to its checkpoint's step and logs those steps again: the records it
replaced are dropped. Each part after the first is offset by the last step of the parts before it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import List, Sequence


def part_records(lines: Sequence[str]) -> List[dict]:
    """The records of one part's log, without those a later resume replaced (after its checkpoint's step)."""
    kept: List[dict] = []
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        step = record.get("step")
        if step is not None and record.get("event") == "start":
            kept = [r for r in kept if r.get("step", 0) <= step]
        kept.append(record)
    return kept


def join(parts: Sequence[List[dict]]) -> List[dict]:
    """The parts' records in order, each part's steps offset by the last step of the parts before it."""
    joined: List[dict] = []
    offset = 0
    for records in parts:
        last = 0
        for record in records:
            if "step" in record:
                last = max(last, record["step"])
                record = {**record, "step": record["step"] + offset}
                if record.get("event") == "start":
                    record["offset"] = offset
            joined.append(record)
        offset += last
    return joined


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", type=Path, nargs="+", help="log.jsonl of each part, in training order")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    joined = join([part_records(path.read_text().splitlines()) for path in args.parts])
    args.out.write_text("".join(json.dumps(record) + "\n" for record in joined))
    print(f"{args.out}: {len(joined)} records, last step {max(r.get('step', 0) for r in joined)}")


if __name__ == "__main__":
    main()
