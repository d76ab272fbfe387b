"""tools/evaluate: the sampler loop with lambda auto, keyword rows, auto lambda, settings, report pieces."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tools.editmgt.localization import auto_lambda
from tools.editmgt.sampling import StepOutput, sample
from tools.evaluate.defaults import chosen_defaults
from tools.evaluate.report import grid_image, settings_table, summarize_run
from tools.evaluate.rows import EDIT_VERBS, STOP_WORDS, keyword_rows
from tools.evaluate.run import load_cases
from tools.evaluate.settings import Setting, parse_setting, standard_sweep
from tools.evaluate.splits import drawn_shape, splits

REPO = Path(__file__).resolve().parents[3]
K, MASK, GRID, T = 32, 32, (8, 8), 6


def fake_step(tokens, ref_tokens, timestep, uniform):
    """A deterministic step: draws from the uniforms, attention peaked on the top-left transformer cell."""
    n = tokens.size
    sampled = np.minimum((uniform * K).astype(np.int64), K - 1)
    logprob = np.log(0.05 + 0.9 * uniform).astype(np.float32)
    ref_logprob = np.log(0.05 + 0.9 * ((ref_tokens.reshape(-1) % 7) / 7)).astype(np.float32)
    attention = np.full((T, n // 4), 0.01, np.float32)
    attention[:, :3] += np.float32(1 - timestep)
    return StepOutput(sampled, logprob, ref_logprob, attention)


@pytest.mark.parametrize("lam", [0.0, 0.4, 1.0])
def test_a_fixed_lambda_is_the_lambda_used(lam):
    ref = np.arange(64).reshape(GRID) % K
    result = sample(fake_step, ref, MASK, steps=8, timestep_convention="mask-ratio", lam=lam,
                    attention_grid=(4, 4), rows=[1, 2], seed=5)
    assert result.lam == lam
    assert (result.tokens != MASK).all()


def test_auto_lambda_holds_the_background_of_a_clear_map():
    ref = np.arange(64).reshape(GRID) % K
    result = sample(fake_step, ref, MASK, steps=8, timestep_convention="mask-ratio", lam="auto",
                    attention_grid=(4, 4), seed=5)
    assert 0 < result.lam < 1
    held = result.token_map < result.lam
    # the map moves between steps, so a few tokens decided early may sit outside the last step's hold
    assert (result.tokens[held] == ref[held]).mean() > 0.9
    assert (result.tokens[~held] != ref[~held]).mean() > 0.5


def test_auto_lambda_picks_otsu_or_nothing():
    obj = np.array([1.0 if (i % 8 < 2 and i < 16) else 0.05 * (i % 3) for i in range(64)])
    assert 0.1 < auto_lambda(obj) < 1.0  # the example of src/localize/auto_lambda.ts
    assert auto_lambda(np.full(64, 0.5)) == 0.0  # flat
    assert auto_lambda(np.random.default_rng(0).random(64)) == 0.0  # noise: not separable
    assert auto_lambda(1 - obj) == 0.0  # foreground over half the map: a global edit


def test_keyword_rows_drop_stop_words_and_edit_verbs():
    assert keyword_rows("make the red circle blue", 16) == [2, 3, 4]
    assert keyword_rows("Turn the square into a star, please!", 16) == [2, 5]
    assert keyword_rows("make it so", 16) == [0, 1, 2]  # no content word: every word row
    assert keyword_rows("", 16) == "all"
    assert keyword_rows("add a red star " + "very " * 20, 4) == [2, 3]


def test_word_lists_equal_the_typescript_ones():
    source = (REPO / "src/localize/keywords.ts").read_text()

    def words(name):
        block = re.search(name + r"[^=]*=\s*new Set\(\s*\((.*?)\)", source, re.S).group(1)
        return set(" ".join(re.findall(r'"([^"]*)"', block)).split())

    base_verbs = words("EDIT_VERBS")
    assert base_verbs <= EDIT_VERBS and "recoloring" in EDIT_VERBS and "taking" in EDIT_VERBS
    assert len(EDIT_VERBS - base_verbs) > 4 * len(base_verbs)  # the inflections
    assert set(STOP_WORDS) == words("STOP_WORDS")


def test_settings_round_trip_and_sweep():
    setting = parse_setting("guidance=1.5,lam=auto,rows=all,steps=8")
    assert setting == Setting(guidance=1.5, lam="auto", rows="all", steps=8)
    assert setting.name == "g1.5-y1.1-lauto-all-s8"
    cooler = parse_setting("guidance=1,steps=24,temperature=1")
    assert cooler == Setting(guidance=1.0, steps=24, temperature=1.0)
    assert cooler.name == "g1-y1.1-l0-kw-s24-t1"
    assert chosen_defaults({"choice": {"default": cooler.as_dict()}}) == {
        "steps": 24, "guidance": 1.0, "gamma": 1.1, "lambda": 0.0, "temperature": [1.0, 0.0]}
    with pytest.raises(ValueError):
        parse_setting("rows=some")
    names = [s.name for s in standard_sweep()]
    assert len(names) == len(set(names)) == 12


def test_case_selection_keeps_the_held_out_share():
    eval_dir = REPO / "models/editmgt-tiny/eval"
    if not (eval_dir / "index.json").exists():
        pytest.skip("evaluation set missing")
    cases = load_cases(eval_dir, per_type=8)
    assert len(cases) == 40
    for edit_type in {c["type"] for c in cases}:
        held = [c for c in cases if c["type"] == edit_type and c["held_out"]]
        assert len(held) == 3  # 24 of 64 held out -> 3 of 8
    assert len(load_cases(eval_dir)) == len(json.loads((eval_dir / "index.json").read_text())["cases"])


def test_summary_table_and_grid():
    rows = [{"id": str(i), "type": t, "held_out": i % 2 == 1, "success": True, "strict_success": i % 2 == 0,
             "iou": 0.9, "noop_iou": 0.1, "fidelity": 3.0, "leakage": 2.0 + i, "lambda_used": 0.0,
             "held_nothing": True, "seconds": 0.1, "localization_iou": 0.5}
            for i, t in enumerate(["recolor", "recolor", "remove", "remove"])]
    summary = summarize_run(rows)
    assert summary["macro"]["strict_success"] == 0.5
    assert summary["recolor/in"]["strict_success"] == 1.0 and summary["recolor/held_out"]["strict_success"] == 0.0
    run = {"setting": Setting().as_dict(), "summary": summary, "seconds_per_edit": 0.1}
    assert "| g2-y1.1-l0-kw-s12 | 2 | 1.1 | 0.0 | keywords | 50% | 100% | 0% | 100% | 3.5 |" in settings_table([run])
    image = np.zeros((64, 64, 3), np.uint8)
    cases = [{"id": r["id"], "type": r["type"], "held_out": r["held_out"], "instruction": "make it red"}
             for r in rows]
    grid = grid_image(cases, {c["id"]: image for c in cases}, {c["id"]: image for c in cases},
                      {"default: x": {c["id"]: image for c in cases}}, per_column=3)
    assert grid.size == (2 * (128 * 3 + 230 + 6), 28 + 3 * (128 + 6))


def test_splits_count_strict_successes_by_shape_naming_and_held_out_kind():
    cases = [
        {"id": "a", "type": "recolor", "instruction": "make the square orange", "held_out_phrasing": False,
         "held_out_combo": False},
        {"id": "b", "type": "recolor", "instruction": "make the red square orange", "held_out_phrasing": False,
         "held_out_combo": True},
        {"id": "c", "type": "replace", "instruction": "turn the circle into a star", "held_out_phrasing": True,
         "held_out_combo": True},
    ]
    setting = {"name": "s"}
    rows = [{"id": "a", "strict_success": False}, {"id": "b", "strict_success": True},
            {"id": "c", "strict_success": True}]
    report = {"choice": {"default": setting}, "runs": [{"setting": setting, "rows": rows}]}
    text = splits(report, cases)
    assert drawn_shape("turn the circle into a star") == "star"
    assert "| recolor |  | 1 / 2 |  |  |" in text  # both recolors draw a square
    assert "| replace |  |  |  | 1 / 1 |" in text
    assert "| recolor | 0 / 1 | 1 / 1 |" in text  # shape alone, colour and shape
    assert "| replace | 0 / 0" not in text and "| replace | 1 / 1 |  |" in text
    assert "| replace |  | 1 / 1 |  |" in text  # a held-out phrasing counts as phrasing, not combination
