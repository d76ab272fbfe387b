"""The shapes-editing generator, the held-out split, the evaluation set and the metrics."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from tools.data.domain import EDIT_TYPES, HELD_OUT_COMBOS, POSITIONS, content_words, vocabulary
from tools.data.eval_set import key_color
from tools.data.generator import sample_pair, sample_plan
from tools.data.metrics import classify, evaluate_case, localization_iou, summarize, token_mask
from tools.data.render import Scene, Shape, coverage, render

EVAL_DIR = Path(__file__).resolve().parents[2] / "models" / "editmgt-tiny" / "eval"


def pairs(edit_type, count=12, seed=0):
    rng = np.random.default_rng(seed)
    return [sample_pair(rng, edit_type) for _ in range(count)]


def test_same_seed_gives_the_same_pairs():
    a = sample_pair(np.random.default_rng(5))
    b = sample_pair(np.random.default_rng(5))
    assert a.plan.instruction == b.plan.instruction
    assert np.array_equal(a.source, b.source) and np.array_equal(a.target, b.target)


@pytest.mark.parametrize("edit_type", EDIT_TYPES)
def test_target_differs_from_source_only_inside_the_edit_mask(edit_type):
    for pair in pairs(edit_type):
        changed = (pair.source != pair.target).any(-1)
        assert changed.any()
        assert not (changed & ~pair.mask).any()


@pytest.mark.parametrize("edit_type", EDIT_TYPES)
def test_training_plans_never_use_held_out_combinations_or_phrasings(edit_type):
    rng = np.random.default_rng(1)
    for _ in range(300):
        plan = sample_plan(rng, edit_type, held_out=False)
        assert plan.combo not in HELD_OUT_COMBOS
        assert not plan.held_out_phrasing


@pytest.mark.parametrize("edit_type", EDIT_TYPES)
def test_held_out_plans_are_held_out(edit_type):
    rng = np.random.default_rng(2)
    plans = [sample_plan(rng, edit_type, held_out=True) for _ in range(40)]
    assert all(p.held_out_combo or p.held_out_phrasing for p in plans)
    assert any(p.held_out_combo for p in plans) and any(p.held_out_phrasing for p in plans)


def test_training_instructions_use_only_vocabulary_words_and_held_out_phrasings_do_not():
    words = set(vocabulary())
    rng = np.random.default_rng(3)
    unseen = set()
    for edit_type in EDIT_TYPES:
        for _ in range(30):
            assert set(sample_plan(rng, edit_type, False).instruction.split()) <= words
            plan = sample_plan(rng, edit_type, True)
            unseen |= set(plan.instruction.split()) - words
    assert {"should", "rid", "swap"} <= unseen and not unseen & set(content_words())


def test_add_places_the_shape_at_the_named_position():
    for pair in pairs("add", count=20, seed=4):
        ys, xs = np.nonzero(pair.mask)
        names = [name for name, (phrase, _) in POSITIONS.items() if pair.plan.instruction.endswith(phrase)]
        _, (x, y) = POSITIONS[max(names, key=len)]
        assert abs(xs.mean() - x) < 2.5 and abs(ys.mean() - y) < 3.5


def test_shapes_are_antialiased_and_sized():
    alpha = coverage(Shape("circle", "red", 32.0, 32.0, 10.0))
    assert 0 < ((alpha > 0) & (alpha < 1)).sum() < 120
    assert alpha.sum() == pytest.approx(np.pi * 9.0**2, rel=0.03)


def test_background_gradient_is_low_amplitude():
    image = render(Scene("blue", 0.3, 10.0, ()))
    spread = image.astype(int).max(axis=(0, 1)) - image.astype(int).min(axis=(0, 1))
    assert 0 < spread.max() <= 30


def test_classify_assigns_palette_colours_and_rejects_mixtures():
    image = np.array([[[220, 40, 40], [130, 60, 130], [30, 30, 30]]], dtype=np.uint8)
    assert classify(image).tolist() == [[0, -1, 7]]


@pytest.mark.parametrize("edit_type", EDIT_TYPES)
def test_ground_truth_succeeds_and_unchanged_source_fails(edit_type):
    for pair in pairs(edit_type, count=15, seed=6):
        key = key_color(pair.plan)
        truth = evaluate_case(pair.target, pair.source, pair.target, pair.mask, edit_type, key)
        noop = evaluate_case(pair.source, pair.source, pair.target, pair.mask, edit_type, key)
        assert truth["strict_success"] and truth["fidelity"] == 0 and truth["leakage"] == 0
        assert not noop["success"]


@pytest.mark.parametrize("edit_type", ["recolor", "add", "replace"])
def test_blurred_shapes_mostly_fail(edit_type):
    results = []
    for pair in pairs(edit_type, count=15, seed=7):
        blurred = np.clip(np.rint(gaussian_filter(pair.target.astype(float), (1.5, 1.5, 0))), 0, 255).astype(np.uint8)
        key = key_color(pair.plan)
        results.append(evaluate_case(blurred, pair.source, pair.target, pair.mask, edit_type, key)["success"])
    assert np.mean(results) < 0.5


def test_leakage_counts_changes_outside_the_dilated_mask():
    pair = pairs("recolor", count=1, seed=8)[0]
    output = pair.target.copy()
    outside = ~np.pad(pair.mask, 8)[4:-4, 4:-4]
    output[0, 0] = 255 - output[0, 0]
    result = evaluate_case(output, pair.source, pair.target, pair.mask, "recolor", key_color(pair.plan))
    assert outside[0, 0]
    assert result["leakage"] > 0 and result["success"]


def test_localization_iou_against_token_mask():
    mask = np.zeros((64, 64), dtype=bool)
    mask[0:8, 0:8] = True
    assert token_mask(mask).sum() == 4
    heat = np.zeros((16, 16))
    heat[0:2, 0:4] = 0.9
    assert localization_iou(heat, mask, 0.5) == pytest.approx(0.5)


def test_summarize_groups_by_type_and_split():
    rows = [{"type": "remove", "held_out": False, "success": True, "leakage": 2.0},
            {"type": "remove", "held_out": True, "success": False, "leakage": 4.0}]
    summary = summarize(rows)
    assert summary["remove"]["success"] == 0.5 and summary["remove/in"]["count"] == 1
    assert summary["all"]["leakage"] == 3.0


def test_committed_evaluation_set_is_complete_and_consistent():
    index = json.loads((EVAL_DIR / "index.json").read_text())
    cases = index["cases"]
    assert len(cases) >= 300
    for edit_type in EDIT_TYPES:
        of_type = [c for c in cases if c["type"] == edit_type]
        assert len(of_type) >= 50 and any(c["held_out"] for c in of_type)
    for case in cases[::37]:
        source, target, mask = (np.asarray(Image.open(EVAL_DIR / case[k])) for k in ("source", "target", "mask"))
        assert source.shape == target.shape == (64, 64, 3) and mask.shape == (64, 64)
        result = evaluate_case(target, source, target, mask > 127, case["type"], case["key_color"])
        assert result["strict_success"]
