"""Reference sampler: step-graph maths, schedule, RNG, localization map, MaskGIT loop with the tiny model."""

import io
import json
import math
import os

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from tools.editmgt.localization import localization_map, smooth_adaptive, upsample_bicubic
from tools.editmgt.rng import Xoshiro128
from tools.editmgt.sampling import (
    StepOutput,
    TorchStep,
    categorical_draw,
    gumbel,
    mask_length,
    mask_ratio,
    maskgit_step,
    sample,
    temperatures,
    timestep_value,
)
from tools.tests.parity_data import PARITY_DIR, case_arrays, parity_model

MASK = 71


def test_xoshiro_streams_equal_the_typescript_generator():
    # Values printed by src/sampler/rng.ts (Xoshiro128.fromSeed(seed, stream): 3 x nextUint32, nextUniform).
    expected = {
        (42, 0): [1776835114, 4165204688, 17111135, 0.5395373106002808],
        (42, 1): [3189057346, 132923881, 4275517327, 0.9309007525444031],
        (0, 0): [3737715805, 2584255861, 2876756834, 0.76515793800354],
        (4294967295, 1): [2462116971, 3545641245, 2800500064, 0.8932574391365051],
        (9007199254740991, 0): [1233166643, 1287031142, 661813442, 0.6893346309661865],
    }
    for (seed, stream), values in expected.items():
        rng = Xoshiro128.from_seed(seed, stream)
        assert [rng.next_uint32(), rng.next_uint32(), rng.next_uint32(), rng.next_uniform()] == values
    explicit = Xoshiro128([1, 2, 3, 4])
    assert [explicit.next_uint32(), explicit.next_uint32()] == [11520, 0]


def test_inverse_cdf_draw_follows_the_contract():
    torch.manual_seed(0)
    uncond, cond = torch.randn(1, 6, 2, 2), torch.randn(1, 6, 2, 2)
    uniform = torch.tensor([[0.0, 0.3, 0.999, 0.5]])
    ref = torch.tensor([[[1, 2], [3, 4]]])
    sampled, sampled_logprob, ref_logprob = categorical_draw(uncond, cond, 2.5, uniform, ref)
    probs = (uncond + 2.5 * (cond - uncond)).flatten(2).transpose(1, 2).softmax(-1)[0]
    for j in range(4):
        cdf = probs[j].cumsum(0)
        assert sampled[0, j] == min(5, int((cdf < uniform[0, j] * cdf[-1]).sum()))
        assert torch.isclose(sampled_logprob[0, j], probs[j, sampled[0, j]].log())
        assert torch.isclose(ref_logprob[0, j], probs[j, ref.flatten()[j]].log())
    assert sampled[0, 0] == 0


def test_inverse_cdf_draw_has_the_softmax_distribution_and_guidance_one_is_cond():
    cond = torch.log(torch.tensor([0.1, 0.2, 0.7]))[None, :, None, None].expand(1, 3, 1, 2000).contiguous()
    uncond = torch.randn(1, 3, 1, 2000)
    uniform = torch.rand(1, 2000, generator=torch.Generator().manual_seed(3))
    sampled, logprob, _ = categorical_draw(uncond, cond, 1.0, uniform, torch.zeros(1, 1, 2000, dtype=torch.long))
    frequencies = torch.bincount(sampled[0], minlength=3).float() / 2000
    assert torch.allclose(frequencies, torch.tensor([0.1, 0.2, 0.7]), atol=0.03)
    assert torch.allclose(logprob.exp(), torch.tensor([0.1, 0.2, 0.7])[sampled], atol=1e-5)


def test_logprob_floor_is_1e_20():
    cond = torch.tensor([0.0, -200.0])[None, :, None, None]
    _, _, ref_logprob = categorical_draw(cond, cond, 1.0, torch.zeros(1, 1), torch.ones(1, 1, 1, dtype=torch.long))
    assert math.isclose(ref_logprob.item(), math.log(1e-20), rel_tol=1e-6)


def test_schedule_helpers_match_upstream_formulas():
    assert mask_ratio("cosine", 0, 12) == math.cos(math.pi / 2 / 12)
    assert mask_ratio("linear", 2, 4) == 0.25
    assert mask_length(4096, 1.0, math.cos(math.pi / 2 / 36), 4096) == math.floor(4096 * math.cos(math.pi / 72))
    assert mask_length(100, 1.0, 0.99, 10) == 9
    assert mask_length(100, 1.0, 0.0, 50) == 1
    assert np.array_equal(temperatures((2, 0), 12), torch.linspace(2, 0, 12, dtype=torch.float64).numpy())
    assert temperatures(3, 4)[-1] == pytest.approx(0.01)
    assert timestep_value("step-index", 0, 36, 1.0) == 35 and timestep_value("mask-ratio", 3, 36, 0.25) == 0.25


def test_gumbel_uses_upstream_clamps():
    assert gumbel(np.array([0.0], np.float32))[0] == pytest.approx(-math.log(-math.log(1e-20)))
    assert gumbel(np.array([0.5], np.float32))[0] == pytest.approx(-math.log(math.log(2)))


def test_adaptive_smoothing_matches_upstream_test_vector():
    with open(os.path.join(PARITY_DIR, "..", "smooth_adaptive_testvec.json")) as handle:
        vector = json.load(handle)
    scores = np.array(vector["input"], dtype=np.float32).reshape(32, 32)
    smoothed = smooth_adaptive(scores)
    assert smoothed.dtype == np.float32
    assert np.abs(smoothed.reshape(-1) - np.array(vector["output"], dtype=np.float32)).max() < 1e-6


def test_bicubic_upsample_is_torch_align_corners_false():
    scores = np.random.default_rng(0).random((4, 4)).astype(np.float32)
    expected = F.interpolate(torch.from_numpy(scores)[None, None], size=(8, 8), mode="bicubic")[0, 0].numpy()
    assert np.array_equal(upsample_bicubic(scores, (8, 8)), expected)


def test_localization_map_reproduces_upstream_rescaled_scores():
    arrays = case_arrays("c_cfg_batch2")
    stacked = arrays["fp32/capture/tokens_to_attn.stacked"][0]
    text_attention = stacked.mean(axis=(0, 1))
    attention_map, token_map = localization_map(text_attention, (8, 8), (16, 16))
    rescaled = arrays["fp32/capture/rescale_scores.local_scores"][0].reshape(8, 8)
    assert np.abs(attention_map - smooth_adaptive(rescaled)).max() < 1e-5
    assert token_map.shape == (16, 16)


def fake_output(n, sampled_value=5, logprob=-1.0, ref_logprob=-2.0):
    return StepOutput(
        np.full(n, sampled_value, np.int64), np.full(n, logprob, np.float32), np.full(n, ref_logprob, np.float32), None
    )


def test_maskgit_step_keeps_known_tokens_and_remasks_the_least_confident():
    tokens = np.array([3, MASK, MASK, MASK, 7, MASK])
    ref = np.arange(6)
    output = StepOutput(
        np.array([9, 1, 2, 3, 9, 4]), np.array([0, -0.1, -5, -0.2, 0, -3], np.float32), np.zeros(6, np.float32), None
    )
    new, prediction, held = maskgit_step(tokens, ref, output, MASK, False, 2, 0.0, np.full(6, 0.5, np.float32), None, 0)
    assert new.tolist() == [3, 1, MASK, 3, 7, MASK]
    assert prediction.tolist() == [3, 1, 2, 3, 7, 4] and held == 0
    final, _, _ = maskgit_step(tokens, ref, output, MASK, True, 2, 0.0, np.zeros(6, np.float32), None, 0)
    assert final.tolist() == [3, 1, 2, 3, 7, 4]


def test_region_hold_takes_ref_tokens_below_lambda_with_their_ref_logprob():
    tokens = np.array([MASK, MASK, MASK, MASK])
    ref = np.array([10, 11, 12, 13])
    output = StepOutput(np.array([1, 2, 3, 4]), np.full(4, -0.5, np.float32), np.full(4, -9.0, np.float32), None)
    hold_map = np.array([0.0, 0.9, 0.05, 0.5], np.float32)
    new, prediction, held = maskgit_step(tokens, ref, output, MASK, False, 2, 0.0, np.full(4, 0.5, np.float32),
                                         hold_map, 0.1)
    assert prediction.tolist() == [10, 2, 12, 4] and held == 2
    assert new.tolist() == [MASK, 2, MASK, 4]
    _, prediction_all, held_all = maskgit_step(tokens, ref, output, MASK, True, 0, 0.0, np.zeros(4, np.float32),
                                               hold_map, 1.0)
    assert prediction_all.tolist() == ref.tolist() and held_all == 4


@pytest.fixture(scope="module")
def tiny_step():
    model = parity_model(torch.float32)
    arrays = case_arrays("c_cfg_batch2")
    return TorchStep(
        model,
        torch.from_numpy(arrays["fp32/input/encoder_hidden_states"]),
        torch.from_numpy(arrays["fp32/input/pooled_projections"]),
        torch.from_numpy(arrays["fp32/input/micro_conds"][0]),
        math.log(1.1),
        3.0,
        localization_blocks=[3, 4],
    )


@pytest.fixture(scope="module")
def ref_tokens():
    return case_arrays("c_cfg_batch2")["fp32/input/reference_image_hidden_states"][0].astype(np.int64)


def test_tiny_model_step_returns_the_graph_outputs(tiny_step, ref_tokens):
    uniform = Xoshiro128.from_seed(1, 0).uniforms(256)
    output = tiny_step(np.full((16, 16), MASK), ref_tokens, 5.0, uniform)
    assert output.sampled.shape == (256,) and output.sampled.max() < 64 and output.sampled.min() >= 0
    assert np.all(output.sampled_logprob <= 0) and np.all(output.ref_logprob <= 0)
    assert output.text_attention.shape == (8, 64)
    row_sums = output.text_attention.sum(axis=1)
    assert np.all(output.text_attention >= 0) and np.all(row_sums > 0) and np.all(row_sums < 1)


def test_sampling_is_deterministic_per_seed_and_fills_every_token(tiny_step, ref_tokens):
    steps_seen = []
    first = sample(tiny_step, ref_tokens, MASK, steps=4, lam=0.2, attention_grid=(8, 8), seed=7,
                   on_step=lambda report: steps_seen.append(report))
    again = sample(tiny_step, ref_tokens, MASK, steps=4, lam=0.2, attention_grid=(8, 8), seed=7)
    other = sample(tiny_step, ref_tokens, MASK, steps=4, lam=0.2, attention_grid=(8, 8), seed=8)
    assert np.array_equal(first.tokens, again.tokens) and first.seed == 7
    assert not np.array_equal(first.tokens, other.tokens)
    assert first.tokens.max() < 64 and first.token_map.shape == (16, 16)
    assert [report.timestep for report in steps_seen] == [3.0, 2.0, 1.0, 0.0]
    masked_counts = [int((report.tokens == MASK).sum()) for report in steps_seen]
    assert masked_counts == sorted(masked_counts, reverse=True) and masked_counts[-1] == 0


def test_injected_uniforms_reproduce_the_seeded_run(tiny_step, ref_tokens):
    categorical, gumbel_stream = Xoshiro128.from_seed(11, 0), Xoshiro128.from_seed(11, 1)
    uniforms = (np.stack([categorical.uniforms(256) for _ in range(3)]),
                np.stack([gumbel_stream.uniforms(256) for _ in range(3)]))
    seeded = sample(tiny_step, ref_tokens, MASK, steps=3, seed=11, timestep_convention="mask-ratio")
    injected = sample(tiny_step, ref_tokens, MASK, steps=3, uniforms=uniforms, timestep_convention="mask-ratio")
    assert np.array_equal(seeded.tokens, injected.tokens) and injected.seed is None


def test_mask_ratio_convention_feeds_the_masked_fraction(tiny_step, ref_tokens):
    seen = []
    sample(tiny_step, ref_tokens, MASK, steps=3, seed=2, timestep_convention="mask-ratio",
           on_step=lambda report: seen.append(report))
    assert seen[0].timestep == 1.0
    assert seen[1].timestep == pytest.approx(float((seen[0].tokens == MASK).mean()))


def test_lambda_one_holds_every_token_to_the_reference(tiny_step, ref_tokens):
    result = sample(tiny_step, ref_tokens, MASK, steps=3, lam=1.0, attention_grid=(8, 8), seed=3)
    assert np.array_equal(result.tokens, ref_tokens)


def test_inpainting_changes_only_the_user_mask_and_never_touches_ref_tokens(tiny_step, ref_tokens):
    user_mask = np.zeros((16, 16), bool)
    user_mask[4:8, 2:10] = True
    before = ref_tokens.copy()
    seen = []
    result = sample(tiny_step, ref_tokens, MASK, steps=4, user_mask=user_mask, seed=5,
                    on_step=lambda report: seen.append(report))
    assert np.array_equal(ref_tokens, before)
    assert np.array_equal(result.tokens[~user_mask], ref_tokens[~user_mask])
    assert int((seen[0].tokens == MASK).sum()) < user_mask.sum()
    assert result.tokens.max() < 64


def test_region_hold_requires_the_attention_layout(tiny_step, ref_tokens):
    with pytest.raises(ValueError):
        sample(tiny_step, ref_tokens, MASK, steps=2, lam=0.3, seed=1)


def test_categorical_draw_exports_to_onnx_opset_17():
    class Draw(torch.nn.Module):
        def forward(self, logits, guidance, uniform, ref):
            uncond, cond = logits.chunk(2)
            return categorical_draw(uncond, cond, guidance, uniform, ref)

    buffer = io.BytesIO()
    args = (torch.randn(2, 8, 4, 4), torch.tensor(3.0), torch.rand(1, 16), torch.randint(0, 8, (1, 4, 4)))
    torch.onnx.export(Draw(), args, buffer, opset_version=17)
    graph = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(graph)
    assert {"CumSum", "Softmax", "GatherElements"} <= {node.op_type for node in graph.graph.node}
