"""Evaluate settings over the evaluation set: per-case metrics, in parallel worker processes."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from tools.data.metrics import evaluate_case, localization_iou

from .editor import Editor
from .settings import Setting

MAP_THRESHOLD = 0.5
"""Threshold of the localization IoU when no region hold was applied (lambda 0, or auto holding nothing)."""


def load_png(path: Path) -> np.ndarray:
    """uint8 array of a PNG."""
    return np.asarray(Image.open(path))


def load_cases(eval_dir: Path, per_type: Optional[int] = None) -> List[dict]:
    """Cases of index.json; with ``per_type``, the first ``per_type`` of each edit type, held-out ones in
    the set's proportion (at least one of each kind)."""
    cases = json.loads((eval_dir / "index.json").read_text())["cases"]
    if per_type is None:
        return cases
    counts = {}
    for case in cases:
        counts[(case["type"], case["held_out"])] = counts.get((case["type"], case["held_out"]), 0) + 1
    taken, chosen = {}, []
    for case in cases:
        group = (case["type"], case["held_out"])
        share = counts[group] / sum(v for (t, _), v in counts.items() if t == case["type"])
        taken[group] = taken.get(group, 0) + 1
        if taken[group] <= max(1, round(per_type * share)):
            chosen.append(case)
    return chosen


_editor: Optional[Editor] = None
_eval_dir: Optional[Path] = None


def _init(bundle: Path, eval_dir: Path, threads: int, blocks: Optional[Sequence[int]]) -> None:
    global _editor, _eval_dir
    torch.set_num_threads(threads)
    _editor, _eval_dir = Editor(bundle, blocks), eval_dir


def _case_images(case: dict):
    source = load_png(_eval_dir / case["source"])
    target = load_png(_eval_dir / case["target"])
    return source, target, load_png(_eval_dir / case["mask"]) > 127


def _run_case(task) -> dict:
    case, setting = task
    source, target, mask = _case_images(case)
    start = time.perf_counter()
    edit = _editor.edit(source, case["instruction"], setting)
    seconds = time.perf_counter() - start
    metrics = evaluate_case(edit.image, source, target, mask, case["type"], case["key_color"])
    row = {"id": case["id"], "type": case["type"], "held_out": case["held_out"], **metrics,
           "lambda_used": edit.lam, "held_nothing": edit.lam == 0, "seconds": seconds}
    if edit.token_map is not None:
        row["localization_iou"] = localization_iou(edit.token_map, mask, edit.lam if edit.lam > 0 else MAP_THRESHOLD)
    return {"row": row, "image": edit.image}


def _run_ceiling(case: dict) -> dict:
    """Metrics of the VQ reconstruction of the ground truth, and of the source (no sampler does better)."""
    source, target, mask = _case_images(case)
    ceiling = evaluate_case(_editor.decode(_editor.encode(target)), source, target, mask, case["type"],
                            case["key_color"])
    reconstruction = _editor.decode(_editor.encode(source))
    source_floor = float(np.abs(reconstruction.astype(np.float32) - source.astype(np.float32)).mean())
    return {"id": case["id"], "type": case["type"], "held_out": case["held_out"],
            "vq_ceiling_success": ceiling["success"], "vq_ceiling_strict": ceiling["strict_success"],
            "vq_ceiling_leakage": ceiling["leakage"], "vq_source_error": source_floor}


class Evaluation:
    """Worker pool over one bundle and evaluation set."""

    def __init__(self, bundle: Path, eval_dir: Path, workers: int = 1, threads: int = 1,
                 blocks: Optional[Sequence[int]] = None):
        self.bundle, self.eval_dir = bundle, eval_dir
        args = (bundle, eval_dir, threads, blocks)
        if workers > 1:
            self.pool = multiprocessing.get_context("fork").Pool(workers, _init, args)
            self.map = lambda fn, items: self.pool.map(fn, items, chunksize=4)
        else:
            _init(*args)
            self.pool, self.map = None, lambda fn, items: [fn(item) for item in items]

    def ceiling(self, cases: Sequence[dict]) -> List[dict]:
        """VQ ceiling rows of the cases."""
        return self.map(_run_ceiling, list(cases))

    def run(self, cases: Sequence[dict], setting: Setting, keep: Sequence[str] = ()) -> Dict:
        """{"rows": per-case metrics, "images": {id: output} for ids in ``keep``, "seconds": wall time}."""
        start = time.time()
        results = self.map(_run_case, [(case, setting) for case in cases])
        images = {r["row"]["id"]: r["image"] for r in results if r["row"]["id"] in set(keep)}
        return {"rows": [r["row"] for r in results], "images": images, "seconds": time.time() - start}

    def close(self) -> None:
        """Stop the workers."""
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
