"""Our transformer against goldens made by running upstream EditMGT unmodified (upstream-parity README)."""

import numpy as np
import pytest
import torch

from tools.editmgt.configs import transformer_config
from tools.editmgt.transformer import Transformer2DModel
from tools.tests.parity_data import CASE_GAMMA, case_arrays, case_call, parity_model, real_config_listing, tiny_weights

FP32_TOLERANCE = 5e-5
FP64_TOLERANCE = 1e-9
CAPTURE_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def models():
    return {"fp32": parity_model(torch.float32), "fp64": parity_model(torch.float64)}


def test_tiny_weights_load_strictly_with_identical_keys_and_shapes():
    weights = tiny_weights()
    model = Transformer2DModel(transformer_config("parity-tiny"))
    ours = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert ours == {key: tuple(value.shape) for key, value in weights.items()}
    assert len(ours) == 135
    assert sum(p.numel() for p in model.parameters()) == 195_744
    result = model.load_state_dict(weights, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize("precision,tolerance", [("fp32", FP32_TOLERANCE), ("fp64", FP64_TOLERANCE)])
@pytest.mark.parametrize("case", sorted(CASE_GAMMA))
def test_logits_match_upstream(models, case, precision, tolerance):
    args, log_gamma = case_call(case, precision)
    with torch.no_grad():
        logits = models[precision](*args, log_gamma=log_gamma)
    golden = case_arrays(case)[f"{precision}/output/logits"]
    assert logits.shape == golden.shape
    assert np.abs(logits.numpy() - golden).max() < tolerance


@pytest.mark.parametrize("precision,tolerance", [("fp32", FP32_TOLERANCE), ("fp64", FP64_TOLERANCE)])
def test_cfg_batch_guided_logits_match_upstream(models, precision, tolerance):
    args, log_gamma = case_call("c_cfg_batch2", precision)
    with torch.no_grad():
        uncond, cond = models[precision](*args, log_gamma=log_gamma).chunk(2)
    golden = case_arrays("c_cfg_batch2")[f"{precision}/output/guided_logits_gs6"]
    assert np.abs((uncond + 6 * (cond - uncond)).numpy() - golden).max() < tolerance * 10


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
def test_capture_of_single_blocks_matches_upstream_text_to_image(models, precision):
    args, log_gamma = case_call("c_cfg_batch2", precision)
    arrays = case_arrays("c_cfg_batch2")
    with torch.no_grad():
        _, captured = models[precision](*args, log_gamma=log_gamma, capture_blocks=[3, 4])
    assert captured.shape == (2, 2, 2, 8, 64)
    for position, single_index in enumerate([1, 2]):
        golden = arrays[f"{precision}/capture/single_transformer_blocks.{single_index}.attn.text_to_image"]
        assert np.abs(captured[:, position].numpy() - golden).max() < CAPTURE_TOLERANCE
    cond = captured[1:]
    assert np.abs(cond.numpy() - arrays[f"{precision}/capture/tokens_to_attn.stacked"]).max() < CAPTURE_TOLERANCE
    local = cond.mean(dim=(1, 2, 3)).numpy()
    assert np.abs(local - arrays[f"{precision}/capture/tokens_to_attn.local_stacked"]).max() < CAPTURE_TOLERANCE
    rescaled = (local - local.min()) / (local.max() - local.min() + 1e-8)
    assert np.abs(rescaled - arrays[f"{precision}/capture/rescale_scores.local_scores"]).max() < 1e-5


def test_capture_does_not_change_logits(models):
    args, log_gamma = case_call("c_cfg_batch2", "fp32")
    with torch.no_grad():
        plain = models["fp32"](*args, log_gamma=log_gamma)
        captured_logits, _ = models["fp32"](*args, log_gamma=log_gamma, capture_blocks=[0, 4])
    assert torch.equal(plain, captured_logits)


def test_real_config_state_dict_equals_upstream_listing():
    listing = real_config_listing()
    model = Transformer2DModel(transformer_config("editmgt-1024"))
    ours = [(key, list(value.shape), str(value.dtype).replace("torch.", "")) for key, value in model.state_dict().items()]
    theirs = [(entry["key"], entry["shape"], entry["dtype"]) for entry in listing["state_dict"]]
    assert ours == theirs
    assert sum(p.numel() for p in model.parameters()) == listing["total_parameters"] == 1_009_306_624
    for name, count in listing["parameters_by_top_level_module"].items():
        assert sum(p.numel() for p in getattr(model, name).parameters()) == count, name
    assert not list(model.buffers())
