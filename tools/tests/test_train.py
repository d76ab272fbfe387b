"""Pieces of the training stages: VQ centring fold, EMA codebook restarts, masking, schedules, resume."""

import functools
import json
import sys

import numpy as np
import pytest
import torch

from tools.train.common import Budget, cosine_lr, dilate, token_mask
from tools.data.domain import names_object_by_shape
from tools.editmgt.configs import vq_config
from tools.editmgt.vq import VQModel
from tools.train import train_transformer
from tools.train.join_logs import join, part_records
from tools.editmgt.text_encoder import TextEncoder, TextEncoderConfig
from tools.editmgt.tokenizer import PAD_ID, UNK_ID, WordTokenizer
from tools.train.train_transformer import HOLDOUT, drop_words, load_initial_weights, sample_masks, sampling_weights
from tools.train.train_vq import EmaCodebook, centred_decode, centred_encode, fold_centring


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


def test_word_dropout_keeps_content_words_padding_and_empty_prompts():
    text = torch.tensor([[5, 6, 7, 8, 0, 0, 0, 0], [0] * 8, [5, 6, 7, 8, 9, 10, 11, 12]])
    assert torch.equal(drop_words(np.random.default_rng(0), text, frozenset({7}), share=0.0), text)
    rows = [drop_words(np.random.default_rng(seed), text, frozenset({7}), share=1.0) for seed in range(200)]
    for row in rows:
        assert row.shape == text.shape and torch.equal(row[1], text[1])
        kept = [i for i in row[0].tolist() if i != PAD_ID]
        assert kept.count(7) == 1 and set(kept) <= {5, 6, 7, 8, UNK_ID} and 4 <= len(kept) <= 6
        assert row[0].tolist()[len(kept):] == [PAD_ID] * (8 - len(kept))
        assert (row[2] != PAD_ID).all()  # a full row is truncated, not overflowed
    dropped = np.mean([row[0, :4].tolist().count(UNK_ID) > 0 for row in rows])
    assert 0.8 < dropped < 1.0


def test_sampling_weights_scale_each_edit_type():
    probabilities = sampling_weights(["recolor", "remove", "remove", "add"], "recolor=2,add=0")
    assert probabilities == pytest.approx([0.5, 0.25, 0.25, 0.0])
    for bad in ("recolour=2", "recolor", "add:shape=2"):
        with pytest.raises(ValueError, match=f"bad --type-weights entry '{bad}'"):
            sampling_weights(["recolor"], bad)


def test_sampling_weights_scale_objects_named_by_shape_alone():
    kinds = ["recolor", "recolor:shape", "remove:shape", "add"]
    probabilities = sampling_weights(kinds, "recolor=2,recolor:shape=3")
    assert probabilities == pytest.approx(np.array([2, 6, 1, 1]) / 10)
    assert names_object_by_shape("make the circle blue", "recolor")
    assert not names_object_by_shape("make the red circle blue", "recolor")
    assert names_object_by_shape("turn the square into a star", "replace")
    assert not names_object_by_shape("remove the green star", "remove")
    assert not names_object_by_shape("add a red star at the top", "add")


def test_initial_weights_move_text_embeddings_word_by_word(tmp_path):
    def encoder(vocab_size, seed):
        torch.manual_seed(seed)
        return TextEncoder(TextEncoderConfig(vocab_size=vocab_size, length=4, width=8, layers=1, heads=2,
                                             pooled_dim=8))

    old_tokenizer = WordTokenizer(["red", "gone", "blue"], 4)
    new_tokenizer = WordTokenizer(["blue", "new", "red"], 4)
    old = encoder(old_tokenizer.vocab_size, 0)
    transformer = torch.nn.Linear(2, 2)
    torch.save({"transformer": transformer.state_dict(), "text_encoder": old.state_dict()}, tmp_path / "checkpoint.pt")
    old_tokenizer.save(tmp_path / "tokenizer.json")
    new, fresh = encoder(new_tokenizer.vocab_size, 1), torch.nn.Linear(2, 2)
    before = new.token_embedding.weight.detach().clone()
    load_initial_weights(tmp_path / "checkpoint.pt", fresh, new, new_tokenizer)
    rows, old_rows = new.token_embedding.weight, old.token_embedding.weight
    for word in ("[PAD]", "[UNK]", "red", "blue"):
        assert torch.equal(rows[new_tokenizer.vocab[word]], old_rows[old_tokenizer.vocab[word]])
    assert torch.equal(rows[new_tokenizer.vocab["new"]], before[new_tokenizer.vocab["new"]])
    assert torch.equal(fresh.weight, transformer.weight)


class StepClock:
    """A clock that moves 0.1 s each time it is read: a training budget then counts steps, not the
    machine's speed."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.1
        return self.now


def test_transformer_training_resumes_and_continues_to_a_longer_budget(tmp_path, monkeypatch):
    pairs, rng = HOLDOUT + 40, np.random.default_rng(0)
    tokens, data, out = tmp_path / "tokens", tmp_path / "data", tmp_path / "transformer"
    tokens.mkdir(), data.mkdir()
    for name in ("source", "target"):
        np.save(tokens / f"{name}.npy", rng.integers(0, 16, (pairs, 16, 16)).astype(np.int16))
    np.save(tokens / "edit.npy", rng.random((pairs, 16, 16)) < 0.2)
    (tokens / "stats.json").write_text(json.dumps({"pairs": pairs, "codebook_size": 16}))
    record = json.dumps({"instruction": "make the red circle blue", "type": "recolor"})
    (data / "meta.jsonl").write_text((record + "\n") * pairs)

    clock = StepClock()
    monkeypatch.setattr(train_transformer, "Budget", functools.partial(Budget, clock=clock))

    def train(*extra):
        monkeypatch.setattr(sys, "argv", ["train_transformer.py", "--tokens", str(tokens), "--data", str(data),
                                          "--out", str(out), "--batch", "4", *extra])
        train_transformer.main()
        state = torch.load(out / "checkpoint.pt")
        return state["step"], state["spent"], state["budget_seconds"]

    step, spent, budget = train("--minutes", "0.01")
    assert step > 0 and spent >= budget == pytest.approx(0.6)
    total = f"{(spent + 3) / 60:.4f}"  # 3 s (about 30 steps of the clock) past what the first run spent
    longer = train("--total-minutes", total)
    assert longer[0] > step and longer[2] == pytest.approx(float(total) * 60) and longer[1] >= longer[2]
    again = train("--total-minutes", total)  # the same continuation command: nothing left to train
    assert again == longer
    assert torch.load(out / "final.pt")["step"] == longer[0]


def test_joined_logs_drop_what_a_resume_replaced_and_count_steps_on():
    first = part_records([
        '{"event": "start", "step": 0}', '{"step": 25, "loss": 3}', '{"step": 50, "loss": 2}',
        '{"event": "start", "step": 40}', '{"step": 50, "loss": 1.5}', '{"event": "final", "step": 60}',
    ])
    assert [(r.get("event"), r["step"]) for r in first] == [
        ("start", 0), (None, 25), ("start", 40), (None, 50), ("final", 60)]
    assert first[3]["loss"] == 1.5
    second = part_records(['{"event": "start", "step": 0, "init": "a.pt"}', '{"step": 25, "loss": 1}'])
    joined = join([first, second])
    assert [r["step"] for r in joined] == [0, 25, 40, 50, 60, 60, 85]
    assert joined[5] == {"event": "start", "step": 60, "init": "a.pt", "offset": 60}
