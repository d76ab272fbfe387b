"""Strict success of a few sampler settings over several sampling seeds (how much of a gap is noise).

    /usr/bin/python3 -m tools.evaluate.seeds --bundle runs/tiny --localization-blocks 3 --seeds 0,1,2 \\
        --settings guidance=1 guidance=1,steps=24,temperature=1

Each setting is ``key=value`` pairs (``tools/evaluate/settings.py``); its ``seed`` is replaced by each of
``--seeds``. Prints one line per setting and seed, then the mean over the seeds.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from .report import summarize_run
from .run import Evaluation, load_cases
from .settings import parse_setting


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=Path("runs/tiny"))
    parser.add_argument("--eval", type=Path, default=Path("models/editmgt-tiny/eval"))
    parser.add_argument("--settings", nargs="+", required=True, type=parse_setting)
    parser.add_argument("--seeds", type=lambda t: [int(v) for v in t.split(",")], default=[0, 1, 2])
    parser.add_argument("--localization-blocks", type=lambda t: [int(v) for v in t.split(",")])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cases = load_cases(args.eval)
    evaluation = Evaluation(args.bundle, args.eval, args.workers, 1, args.localization_blocks)
    for setting in args.settings:
        scores = []
        for seed in args.seeds:
            summary = summarize_run(evaluation.run(cases, replace(setting, seed=seed))["rows"])
            score = [summary[k]["strict_success"] for k in ("macro", "in", "held_out")]
            scores.append(score)
            print(f"{setting.name} seed {seed}: strict {score[0]:.1%} (in {score[1]:.1%}, held out "
                  f"{score[2]:.1%}), leakage {summary['all']['leakage']:.2f}", flush=True)
        mean = [sum(column) / len(scores) for column in zip(*scores)]
        print(f"{setting.name} mean of {len(scores)} seeds: strict {mean[0]:.1%} (in {mean[1]:.1%}, held out "
              f"{mean[2]:.1%})", flush=True)


if __name__ == "__main__":
    main()
