"""Pieces of the training stages: VQ centring fold, EMA codebook restarts, masking, schedules, resume."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))

from common import cosine_lr, dilate, token_mask  # noqa: E402
from editmgt.configs import vq_config  # noqa: E402
from editmgt.vq import VQModel  # noqa: E402
import train_transformer  # noqa: E402
from train_transformer import HOLDOUT, sample_masks  # noqa: E402
from train_vq import EmaCodebook, centred_decode, centred_encode, fold_centring  # noqa: E402


def small_vq(**overrides):
    torch.manual_seed(0)
    return VQModel(vq_config({"base": "tiny", "block_out_channels": [8, 16], "latent_channels": 4,
                              "num_vq_embeddings": 16, "norm_num_groups": 1, **overrides})).eval()


@pytest.mark.parametrize("overrides", [{}, {"encoder": "patch", "norm_num_groups": 0}])
def test_folded_vq_equals_the_centred_training_path(overrides):
    vq = small_vq(**overrides)
    with torch.no_grad():
        vq.decoder.conv_out.bias.fill_(0.3)
        pixels = torch.rand(2, 3, 16, 16)
        trained = centred_decode(vq, centred_encode(vq, pixels))
        folded = fold_centring(vq)
        plain = folded.decode_latents(folded.encode_latents(pixels))
    assert torch.allclose(trained, plain, atol=1e-5)
    assert not torch.allclose(vq.decode_latents(vq.encode_latents(pixels)), plain, atol=1e-2)


def test_dead_codes_restart_from_the_worst_quantized_latents():
    weight = torch.zeros(4, 2)
    ema = EmaCodebook(weight)
    latents = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    ids = torch.zeros(3, dtype=torch.int64)
    for _ in range(40):
        ema.update(weight, latents[:2], ids[:2])
    errors = torch.tensor([0.0, 0.01, 50.0])
    restarted = ema.restart_dead(weight, latents, errors)
    assert restarted == 3
    assert torch.allclose(weight[1], latents[2], atol=1e-2)


def test_random_masks_follow_the_cosine_rate_on_average():
    rng = np.random.default_rng(0)
    edit = torch.zeros(2000, 16, 16, dtype=torch.bool)
    masks = sample_masks(rng, edit, region_share=0.0)
    assert masks.flatten(1).sum(1).min() >= 1
    assert masks.float().mean().item() == pytest.approx(2 / np.pi, abs=0.02)


def test_region_masks_stay_inside_the_dilated_edit():
    rng = np.random.default_rng(1)
    edit = torch.zeros(200, 16, 16, dtype=torch.bool)
    edit[:, 5:8, 5:8] = True
    masks = sample_masks(rng, edit, region_share=1.0)
    assert not (masks & ~dilate(edit, 1)).any()
    assert masks.flatten(1).sum(1).min() >= 1


def test_cosine_lr_warms_up_then_decays_to_the_floor():
    assert cosine_lr(1.0, 0.0, warmup=0.1) < 0.05
    assert cosine_lr(1.0, 0.1, warmup=0.1) == pytest.approx(1.0)
    assert cosine_lr(1.0, 1.0, warmup=0.1) == pytest.approx(0.1)


def test_token_mask_marks_tokens_touched_by_the_edit():
    mask = np.zeros((64, 64), dtype=bool)
    mask[3, 62] = True
    tokens = token_mask(mask)
    assert tokens.shape == (16, 16) and tokens.sum() == 1 and tokens[0, 15]


def test_transformer_training_resumes_and_continues_to_a_longer_budget(tmp_path, monkeypatch):
    pairs, rng = HOLDOUT + 40, np.random.default_rng(0)
    tokens, data, out = tmp_path / "tokens", tmp_path / "data", tmp_path / "transformer"
    tokens.mkdir(), data.mkdir()
    for name in ("source", "target"):
        np.save(tokens / f"{name}.npy", rng.integers(0, 16, (pairs, 16, 16)).astype(np.int16))
    np.save(tokens / "edit.npy", rng.random((pairs, 16, 16)) < 0.2)
    (tokens / "stats.json").write_text(json.dumps({"pairs": pairs, "codebook_size": 16}))
    (data / "meta.jsonl").write_text("".join(json.dumps({"instruction": "make the red circle blue"}) + "\n"
                                             for _ in range(pairs)))

    def train(*extra):
        monkeypatch.setattr(sys, "argv", ["train_transformer.py", "--tokens", str(tokens), "--data", str(data),
                                          "--out", str(out), "--batch", "4", *extra])
        train_transformer.main()
        state = torch.load(out / "checkpoint.pt")
        return state["step"], state["spent"], state["budget_seconds"]

    step, spent, budget = train("--minutes", "0.01")
    assert step > 0 and spent >= budget == pytest.approx(0.6)
    longer = train("--total-minutes", "0.1")
    assert longer[0] > step and longer[2] == pytest.approx(6.0) and longer[1] >= longer[2]
    again = train("--total-minutes", "0.1")  # the same continuation command: nothing left to train
    assert again == longer
    assert torch.load(out / "final.pt")["step"] == longer[0]
