"""Command line: ``/usr/bin/python3 -m tools.evaluate --bundle runs/tiny --out DIR [--per-type N]``.

Phase 1 sweeps guidance with region hold off; phase 2 sweeps lambda (keyword rows and all rows, plus
"auto") at the best guidance of phase 1; phase 3 (optional) tries other gammas, step counts and Gumbel
temperatures at the best setting so far. Writes DIR/report.json (every per-case row), DIR/report.md and
DIR/grid.png.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from tools.data.domain import EDIT_TYPES
from tools.data.metrics import summarize

from .report import choose, grid_image, per_type_table, score, settings_table, summarize_run
from .run import Evaluation, load_cases, load_png
from .settings import Setting


def _floats(text: str):
    return [float(v) for v in text.split(",") if v.strip()]


def best_setting(runs) -> Setting:
    """The setting of the best run so far (the report's default choice)."""
    return Setting(**{k: v for k, v in choose(runs)["default"]["setting"].items() if k != "name"})


def grid_cases(cases, in_per_type: int = 4, held_per_type: int = 3):
    """The first few in-distribution and held-out cases of every edit type, in type order."""
    chosen = []
    for edit_type in EDIT_TYPES:
        of_type = [c for c in cases if c["type"] == edit_type]
        chosen += [c for c in of_type if not c["held_out"]][:in_per_type]
        chosen += [c for c in of_type if c["held_out"]][:held_per_type]
    return chosen


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=Path("runs/tiny"))
    parser.add_argument("--eval", type=Path, default=Path("models/editmgt-tiny/eval"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-type", type=int, help="cases per edit type (default: every case)")
    parser.add_argument("--guidances", type=_floats, default=[1.0, 1.5, 2.0, 3.0])
    parser.add_argument("--lambdas", type=_floats, default=[0.3, 0.5, 0.7])
    parser.add_argument("--no-auto", action="store_true", help="skip lambda auto")
    parser.add_argument("--gammas", type=_floats, default=[], help="phase 3: other gammas at the best setting")
    parser.add_argument("--steps", type=lambda t: [int(v) for v in t.split(",")], default=[],
                        help="phase 3: other step counts at the best setting")
    parser.add_argument("--temperatures", type=_floats, default=[],
                        help="phase 3: other first Gumbel temperatures (linspace(T, 0, steps)) at the best setting")
    parser.add_argument("--gamma", type=float, default=1.1)
    parser.add_argument("--localization-blocks", type=lambda t: [int(v) for v in t.split(",")],
                        help="override the bundle's localization blocks (global block indices)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    args = parser.parse_args()

    cases = load_cases(args.eval, args.per_type)
    shown = grid_cases(cases)
    evaluation = Evaluation(args.bundle, args.eval, args.workers, args.threads, args.localization_blocks)
    ceiling_rows = evaluation.ceiling(cases)
    runs, images = [], {}

    def run(setting: Setting) -> dict:
        result = evaluation.run(cases, setting, keep=[c["id"] for c in shown])
        record = {"setting": setting.as_dict(), "summary": summarize_run(result["rows"]),
                  "seconds_per_edit": sum(r["seconds"] for r in result["rows"]) / len(result["rows"]),
                  "wall_seconds": round(result["seconds"], 1), "rows": result["rows"]}
        runs.append(record)
        images[setting.name] = result["images"]
        s = record["summary"]
        print(f"{time.strftime('%H:%M:%S')} {setting.name:28s} strict macro {s['macro']['strict_success']:.2f} "
              f"in {s['in']['strict_success']:.2f} held {s['held_out']['strict_success']:.2f} "
              f"leak {s['all']['leakage']:.1f} iou {s['all'].get('localization_iou', float('nan')):.2f} "
              f"({result['seconds']:.0f} s)", flush=True)
        return record

    def write() -> None:
        """report.json, report.md and grid.png of the runs so far (rewritten after every setting)."""
        chosen = choose(runs)
        report = {
            "bundle": str(args.bundle), "eval": str(args.eval), "cases": len(cases),
            "localization_blocks": args.localization_blocks or "bundle's",
            "choice": {"rule": "highest strict success averaged over edit types, then lowest leakage",
                       "hold_off": chosen["hold_off"]["setting"] if chosen["hold_off"] else None,
                       "default": chosen["default"]["setting"]},
            "vq_ceiling": summarize(ceiling_rows), "vq_ceiling_rows": ceiling_rows,
            "runs": runs,
        }
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        named = {title: run for title, run in (("hold off", chosen["hold_off"]), ("default", chosen["default"])) if run}
        (args.out / "report.md").write_text(markdown(report, named) + "\n")
        columns = {f"{title}: {r['setting']['name']}": images[r["setting"]["name"]] for title, r in named.items()}
        sources = {c["id"]: load_png(args.eval / c["source"]) for c in shown}
        targets = {c["id"]: load_png(args.eval / c["target"]) for c in shown}
        grid_image(shown, sources, targets, columns).save(args.out / "grid.png", optimize=True)

    base = Setting(gamma=args.gamma)
    for guidance in args.guidances:
        run(replace(base, guidance=guidance, lam=0.0))
        write()
    best_off = choose(runs)["hold_off"]["setting"]
    lambdas = list(args.lambdas) + ([] if args.no_auto else ["auto"])
    for rows in ("keywords", "all"):
        for lam in lambdas:
            run(replace(base, guidance=best_off["guidance"], lam=lam, rows=rows))
            write()
    best = best_setting(runs)
    for gamma in args.gammas:
        run(replace(best, gamma=gamma))
        write()
    for steps in args.steps:
        run(replace(best, steps=steps))
        write()
    best = best_setting(runs)
    for temperature in args.temperatures:
        run(replace(best, temperature=temperature))
        write()
    evaluation.close()
    default = choose(runs)["default"]
    print(f"default {default['setting']['name']} (score {score(default['summary'])})")


def markdown(report: dict, named: dict) -> str:
    """report.md: settings table, per-type table of the hold-off and default choices, VQ ceiling."""
    ceiling = report["vq_ceiling"]["all"]
    return "\n\n".join([
        f"# Torch reference evaluation ({report['cases']} cases of {report['eval']}, bundle {report['bundle']})",
        "Metrics: tools/data/METRICS.md (strict = success and leakage <= 12/255). Seed 0, cosine schedule, "
        "Gumbel temperature linspace(2, 0) (linspace(T, 0) for a setting named `-tT`). Localization IoU: the last "
        "step's map thresholded at the lambda used (0.5 when nothing was held). `auto: no hold` = share of edits "
        "where lambda auto held nothing.",
        settings_table(report["runs"]),
        f"Choice ({report['choice']['rule']}): hold off `{named['hold off']['setting']['name']}`, "
        f"default `{named['default']['setting']['name']}`.",
        per_type_table({k: v for k, v in named.items()}, report["vq_ceiling"]),
        f"VQ ceiling (metrics of the VQ reconstruction of the ground truth): success {ceiling['vq_ceiling_success']:.0%}, "
        f"strict {ceiling['vq_ceiling_strict']:.0%}, leakage {ceiling['vq_ceiling_leakage']:.1f}; "
        f"mean abs error of the source's own reconstruction {ceiling['vq_source_error']:.1f}/255 (the leakage floor "
        "of a raw decode; the pipeline's composite removes it).",
    ])


if __name__ == "__main__":
    main()
