"""Behaviour of the transformer beyond upstream parity: gamma bias, reference stream, resampling, export."""

import io

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from tools.editmgt.configs import transformer_config
from tools.editmgt.layers import patch_downsample, patch_upsample, sinusoidal_embedding
from tools.editmgt.rope import apply_rope, text_image_rope
from tools.editmgt.transformer import Transformer2DModel
from tools.tests.parity_data import case_call, parity_model, tiny_weights


@pytest.fixture(scope="module")
def model():
    return parity_model(torch.float32)


def run(model, log_gamma, capture_blocks=None, case="b_gamma1p1"):
    args, _ = case_call(case, "fp32")
    with torch.no_grad():
        return model(*args, log_gamma=log_gamma, capture_blocks=capture_blocks)


def test_gamma_one_gives_exactly_the_logits_without_bias(model):
    without_bias = run(model, 0.0)
    with_zero_bias = run(model, torch.log(torch.tensor(1.0)))
    assert torch.equal(without_bias, with_zero_bias)


@pytest.mark.parametrize("gamma", [0.5, 1.1, 2.0])
def test_any_other_gamma_changes_the_logits(model, gamma):
    baseline = run(model, 0.0)
    biased = run(model, torch.log(torch.tensor(gamma)))
    assert (biased - baseline).abs().max() > 1e-3


def test_gamma_is_a_call_argument_not_sticky_state(model):
    before = run(model, 0.0)
    run(model, torch.log(torch.tensor(2.0)))
    assert torch.equal(run(model, 0.0), before)


def test_reference_injection_adds_no_parameters_and_every_parameter_serves_the_plain_path():
    model = Transformer2DModel(transformer_config("parity-tiny"))
    assert set(model.state_dict()) == set(tiny_weights())
    args, _ = case_call("d_t2i_noref", "fp32")
    model(*args).square().mean().backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert unused == []


def test_reference_tokens_condition_the_logits(model):
    args, _ = case_call("b_gamma1p1", "fp32")
    tokens, ref_tokens, *rest = args
    with torch.no_grad():
        base = model(tokens, ref_tokens, *rest)
        other = model(tokens, (ref_tokens + 1) % 64, *rest)
    assert (base - other).abs().max() > 1e-3


def test_reference_timestep_defaults_to_zero(model):
    args, _ = case_call("b_gamma1p1", "fp32")
    with torch.no_grad():
        assert torch.equal(model(*args), model(*args, ref_timestep=0.0))
        assert not torch.equal(model(*args), model(*args, ref_timestep=0.5))


def test_timestep_is_scaled_by_1000_before_the_sinusoid(model):
    seen = []
    hook = model.time_text_embed.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    args, _ = case_call("b_gamma1p1", "fp32")
    with torch.no_grad():
        model(*args)
    hook.remove()
    assert seen[0].tolist() == [20000.0] and seen[1].tolist() == [0.0]


def test_sinusoid_is_cos_then_sin_of_geometric_frequencies():
    embedding = sinusoidal_embedding(torch.tensor([3.0]), 8)
    frequencies = np.exp(-np.log(10000.0) * np.arange(4) / 4)
    expected = np.concatenate([np.cos(3 * frequencies), np.sin(3 * frequencies)])
    assert np.allclose(embedding.numpy()[0], expected, atol=1e-6)


def test_capture_blocks_out_of_range_are_rejected(model):
    with pytest.raises(ValueError):
        run(model, 0.0, capture_blocks=[5])


def test_downsample_matmul_equals_stride_2_conv():
    torch.manual_seed(1)
    x = torch.randn(2, 6, 10, 8)
    weight = torch.randn(5, 6, 2, 2)
    expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), weight, stride=2)
    got = patch_downsample(x.permute(0, 2, 3, 1), weight).permute(0, 3, 1, 2)
    assert torch.allclose(got, expected, atol=1e-5)


def test_upsample_matmul_equals_stride_2_transposed_conv():
    torch.manual_seed(2)
    x = torch.randn(2, 6, 5, 4)
    weight = torch.randn(6, 3, 2, 2)
    expected = F.conv_transpose2d(x, weight, stride=2)
    got = patch_upsample(x.permute(0, 2, 3, 1), weight).permute(0, 3, 1, 2)
    assert torch.allclose(got, expected, atol=1e-5)


def test_rope_leaves_text_unrotated_and_rotates_image_pairs_by_position():
    cos, sin = text_image_rope(2, 3, 4, (4, 6, 6))
    x = torch.randn(1, 1, 2 + 12, 16)
    rotated = apply_rope(x, cos, sin)
    assert torch.equal(rotated[:, :, :2], x[:, :, :2])
    token = 2 + 1 * 4 + 2
    pairs = torch.view_as_complex(x[0, 0, token].reshape(8, 2).contiguous())
    angles = np.concatenate(
        [0 * 10000.0 ** (-np.arange(0, 4, 2) / 4), 1 * 10000.0 ** (-np.arange(0, 6, 2) / 6), 2 * 10000.0 ** (-np.arange(0, 6, 2) / 6)]
    )
    expected = pairs * torch.polar(torch.ones(8), torch.tensor(angles, dtype=torch.float32))
    assert torch.allclose(torch.view_as_real(expected).reshape(16), rotated[0, 0, token], atol=1e-5)


def test_shipped_tiny_config_builds_and_trains():
    config = transformer_config("tiny")
    model = Transformer2DModel(config)
    assert config.mask_token_id == 256 and config.inner_dim == 128
    tokens = torch.full((2, 16, 16), config.mask_token_id)
    ref = torch.randint(0, config.codebook_size, (2, 16, 16))
    logits = model(tokens, ref, torch.randn(2, 16, 64), torch.randn(2, 64), torch.tensor([64.0, 64, 0, 0, 6]), torch.rand(2))
    assert logits.shape == (2, 256, 16, 16)
    F.cross_entropy(logits, ref).backward()
    assert model.single_transformer_blocks[0].attn.to_q.weight.grad.abs().sum() > 0


def test_config_overrides_from_a_dict():
    config = transformer_config({"base": "tiny", "num_single_layers": 1, "axes_dims_rope": [8, 12, 12]})
    assert config.num_single_layers == 1 and config.num_layers == 2 and config.axes_dims_rope == (8, 12, 12)
    with pytest.raises(KeyError):
        transformer_config("missing")


def test_exports_to_onnx_opset_17_with_capture():
    model = parity_model(torch.float32)

    class Step(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, tokens, ref_tokens, context, pooled, micro_conds, timestep, log_gamma):
            return self.model(tokens, ref_tokens, context, pooled, micro_conds, timestep, log_gamma, capture_blocks=[3, 4])

    args, log_gamma = case_call("c_cfg_batch2", "fp32")
    buffer = io.BytesIO()
    torch.onnx.export(Step(), (*args[:4], args[4][0], args[5].float(), log_gamma), buffer, opset_version=17)
    graph = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(graph)
    assert graph.opset_import[0].version == 17
    assert len(graph.graph.output) == 2
