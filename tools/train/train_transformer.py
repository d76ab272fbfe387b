"""Train the tiny EditMGT transformer and its text encoder jointly on VQ-token edit pairs.

Recipe (issue 4, DESIGN section 11):
- the toolchain's Transformer2DModel (reference stream, timestep 0 for the reference, log gamma = 0);
- mask rate r = cos(pi/2 * u), u ~ U(0,1); cross-entropy on masked target tokens only;
- a share of samples masks only the edit region (ground-truth token mask, dilated by 0-1 tokens), at rate
  r inside it, with every other target token given: what region hold produces at inference;
- 10% of samples get the empty prompt (all [PAD]), so classifier-free guidance is really trained;
- word dropout: in half of the samples the phrasing words (not colours, shapes, positions) become [UNK] at
  rate 0.5 and up to two [UNK] are inserted, so unseen words and word orders do not derail the edit;
- edit types sampled with weights (the hard ones, recolor and replace, more often);
- `--init` starts a new run from another run's weights (text embeddings carried over word by word);
- targets outside the edit's token mask are the source's tokens (see PairTokens);
- timestep input = masked fraction of the 16x16 tokens ("mask-ratio" convention), micro_conds [64,64,0,0,6];
- AdamW, warmup then cosine over a wall-clock budget; checkpoints every few minutes; resumable.

Usage: python3 -m tools.train.train_transformer --tokens runs/tokens --data runs/data --out runs/transformer
       --until 00:25 [--init runs/previous/checkpoint.pt]
"""

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tools.train.common import Budget, JsonLog, cosine_lr, dilate, save_checkpoint, set_threads
from tools.data.domain import EDIT_TYPES, OBJECT_EDITS, content_words, names_object_by_shape, vocabulary
from tools.editmgt.configs import transformer_config
from tools.editmgt.text_encoder import TextEncoder, TextEncoderConfig
from tools.editmgt.tokenizer import PAD_ID, UNK_ID, WordTokenizer
from tools.editmgt.transformer import Transformer2DModel

MICRO_CONDS = [64.0, 64.0, 0.0, 0.0, 6.0]
"""micro_conds of the tiny model: [width, height, crop top, crop left, aesthetic score]."""

HOLDOUT = 512
"""The last HOLDOUT pairs are validation only (the VQ never trained on them either)."""

TYPE_WEIGHTS = "recolor=1.5,remove=0.75,add=1,replace=2,background=0.5"
"""Default sampling weight of each edit type's pairs (relative to its share of the data)."""


def model_spec(codebook_size: int, text_vocab: int) -> dict:
    """Configs of the shipped tiny model (written into every checkpoint)."""
    return {
        # the toolchain's `tiny` (2 double + 4 single blocks, 4 heads) at width 96 instead of 128: the CPU budget
        "transformer_config": {"base": "tiny", "attention_head_dim": 24, "axes_dims_rope": [4, 10, 10],
                               "vocab_size": codebook_size + 1, "codebook_size": codebook_size},
        "text_config": {"vocab_size": text_vocab, "length": 16, "width": 64, "layers": 2, "heads": 4, "pooled_dim": 64},
        "micro_conds": MICRO_CONDS,
        "timestep": "mask-ratio",
        "localization_blocks": [3, 4],
    }


def build_models(spec: dict):
    """(transformer, text encoder) from a model spec."""
    transformer = Transformer2DModel(transformer_config(spec["transformer_config"]))
    text_encoder = TextEncoder(TextEncoderConfig(**spec["text_config"]))
    return transformer, text_encoder


def sample_masks(rng: np.random.Generator, edit: torch.Tensor, region_share: float) -> torch.Tensor:
    """Bool [B,h,w] masks: random positions at rate cos(pi/2 u), or (region_share) inside the edit region."""
    batch, h, w = edit.shape
    n = h * w
    rates = np.cos(np.pi / 2 * rng.random(batch))
    noise = torch.from_numpy(rng.random((batch, n))).float()
    masks = torch.zeros(batch, n, dtype=torch.bool)
    region_rows = rng.random(batch) < region_share
    grown = dilate(edit, 1)
    for b in range(batch):
        if region_rows[b]:
            region = (grown[b] if rng.random() < 0.5 else edit[b]).flatten()
            if region.sum() == 0:
                region = torch.ones(n, dtype=torch.bool)
            count = max(1, int(round(rates[b] * int(region.sum()))))
            scores = torch.where(region, noise[b], torch.full_like(noise[b], 2.0))
        else:
            count = max(1, int(round(rates[b] * n)))
            scores = noise[b]
        masks[b, torch.argsort(scores)[:count]] = True
    return masks.reshape(batch, h, w)


def drop_words(rng: np.random.Generator, text: torch.Tensor, keep: frozenset, share: float,
               rate: float = 0.5) -> torch.Tensor:
    """Token ids where a `share` of the non-empty rows has each id outside `keep` turned [UNK] at `rate` and
    zero to two [UNK] inserted at random places (truncated to the text length)."""
    text = text.clone()
    length = text.shape[1]
    for row in np.flatnonzero(rng.random(len(text)) < share):
        ids = [i for i in text[row].tolist() if i != PAD_ID]
        if not ids:
            continue
        ids = [UNK_ID if i not in keep and rng.random() < rate else i for i in ids]
        for _ in range(rng.integers(0, 3)):
            ids.insert(int(rng.integers(0, len(ids) + 1)), UNK_ID)
        ids = ids[:length]
        text[row] = torch.tensor(ids + [PAD_ID] * (length - len(ids)))
    return text


def sampling_weights(kinds: list, weights: str) -> np.ndarray:
    """Probabilities over pairs from "name=weight,..." (a name left out weighs 1).

    A pair's kind is its edit type, with ":shape" appended when an object edit names its object by shape
    alone (``names_object_by_shape``). Names are the edit types and "recolor:shape", "remove:shape",
    "replace:shape"; a ":shape" weight multiplies its type's weight for those pairs.
    """
    table = {name: 1.0 for name in (*EDIT_TYPES, *(f"{t}:shape" for t in OBJECT_EDITS))}
    for item in filter(None, weights.split(",")):
        name, _, value = item.partition("=")
        if name not in table or not value:
            raise ValueError(f"bad --type-weights entry {item!r}: want NAME=WEIGHT with NAME one of "
                             f"{', '.join(table)}")
        table[name] = float(value)
    probabilities = np.array([table[k.split(":")[0]] * (table[k] if ":" in k else 1.0) for k in kinds])
    return probabilities / probabilities.sum()


def load_initial_weights(path: Path, transformer, text_encoder, tokenizer: WordTokenizer) -> None:
    """Load another run's weights; its text embedding rows move to this tokenizer's ids word by word (a word
    the old tokenizer lacked keeps its fresh initialization)."""
    state = torch.load(path)
    old = WordTokenizer.load(path.parent / "tokenizer.json")
    old_rows = state["text_encoder"]["token_embedding.weight"]
    rows = text_encoder.token_embedding.weight.detach().clone()
    for word, index in tokenizer.vocab.items():
        if word in old.vocab:
            rows[index] = old_rows[old.vocab[word]]
    transformer.load_state_dict(state["transformer"])
    text_encoder.load_state_dict({**state["text_encoder"], "token_embedding.weight": rows})


def forward_loss(transformer, text_encoder, batch: dict, masks: torch.Tensor, mask_id: int):
    """(loss, accuracy, accuracy on the masked tokens inside the edit) of predicting the masked target tokens."""
    target, source = batch["target"], batch["source"]
    tokens = torch.where(masks, torch.full_like(target, mask_id), target)
    context, pooled = text_encoder(batch["text"])
    timestep = masks.flatten(1).float().mean(1)
    micro = torch.tensor(MICRO_CONDS)
    logits = transformer(tokens, source, context, pooled, micro, timestep)
    picked = logits.permute(0, 2, 3, 1)[masks]
    labels = target[masks]
    loss = F.cross_entropy(picked, labels)
    correct = picked.argmax(-1) == labels
    in_edit = batch["edit"][masks]
    edit_accuracy = correct[in_edit].float().mean() if in_edit.any() else torch.tensor(float("nan"))
    return loss, correct.float().mean(), edit_accuracy


def train_step(transformer, text_encoder, optimizer, batch: dict, masks: torch.Tensor, mask_id: int):
    """One update on a batch: masked-token loss, backward, gradients clipped to norm 1, optimizer step.
    Returns (loss, accuracy, gradient norm before clipping)."""
    loss, accuracy, _ = forward_loss(transformer, text_encoder, batch, masks, mask_id)
    optimizer.zero_grad()
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    grad_norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    return loss, accuracy, grad_norm


class PairTokens:
    """Token pairs, edit masks and tokenized instructions of the training set."""

    def __init__(self, tokens_dir: Path, data_dir: Path, tokenizer: WordTokenizer):
        self.source = torch.from_numpy(np.load(tokens_dir / "source.npy").astype(np.int64))
        self.edit = torch.from_numpy(np.load(tokens_dir / "edit.npy"))
        # Outside the edit the pixels of source and target are identical, and so are the patch-local VQ's
        # tokens; taking the source's tokens there keeps that exact for any VQ, so nothing teaches a leak.
        target = torch.from_numpy(np.load(tokens_dir / "target.npy").astype(np.int64))
        self.target = torch.where(self.edit, target, self.source)
        with open(data_dir / "meta.jsonl") as f:
            meta = [json.loads(line) for line in f]
        texts = [record["instruction"] for record in meta]
        self.kinds = [
            record["type"] + (":shape" if names_object_by_shape(record["instruction"], record["type"]) else "")
            for record in meta
        ]
        punctuate = np.random.default_rng(5).random(len(texts)) < 0.15
        texts = [text + " ." if end else text for text, end in zip(texts, punctuate)]
        self.text = torch.tensor(tokenizer.encode_batch(texts), dtype=torch.int64)
        self.count = len(self.source)

    def batch(self, index, drop_text=None) -> dict:
        """A batch dict; rows where drop_text is True get the empty prompt (all padding)."""
        index = torch.as_tensor(index)
        text = self.text[index].clone()
        if drop_text is not None:
            text[torch.as_tensor(drop_text)] = 0
        return {"source": self.source[index], "target": self.target[index], "edit": self.edit[index], "text": text}


@torch.no_grad()
def validate(transformer, text_encoder, data: PairTokens, mask_id: int) -> dict:
    """Loss/accuracy on the held-out pairs at fixed mask rates (random and region masks)."""
    transformer.eval(), text_encoder.eval()
    rng = np.random.default_rng(99)
    index = np.arange(data.count - HOLDOUT, data.count)[:128]
    batch = data.batch(index)
    result = {}
    for name, share in (("random", 0.0), ("region", 1.0)):
        masks = sample_masks(rng, batch["edit"], share)
        loss, accuracy, edit_accuracy = forward_loss(transformer, text_encoder, batch, masks, mask_id)
        result[f"val_{name}_loss"], result[f"val_{name}_acc"] = loss.item(), accuracy.item()
        result[f"val_{name}_edit_acc"] = edit_accuracy.item()
    transformer.train(), text_encoder.train()
    return result


def seconds_until(clock: str) -> float:
    """Seconds from now to the next UTC wall-clock time HH:MM."""
    now = dt.datetime.utcnow()
    hour, minute = map(int, clock.split(":"))
    end = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if end <= now:
        end += dt.timedelta(days=1)
    return (end - now).total_seconds()


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--until", help="UTC HH:MM at which training ends (budget fixed at first start)")
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--total-minutes", type=float,
                        help="on resume, lengthen the run's fixed budget to this total (continue a finished run from "
                             "checkpoint.pt; the same command resumes the continuation)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=8e-4)
    parser.add_argument("--region-share", type=float, default=0.5,
                        help="share of samples masked inside the edit region only (the hard part of the task)")
    parser.add_argument("--text-drop", type=float, default=0.1)
    parser.add_argument("--word-dropout", type=float, default=0.5,
                        help="share of samples whose phrasing words are dropped to [UNK] (see drop_words)")
    parser.add_argument("--type-weights", default=TYPE_WEIGHTS,
                        help="sampling weight per edit type (and per object edit named by shape alone, e.g. "
                             "recolor:shape=2; see sampling_weights)")
    parser.add_argument("--init", type=Path,
                        help="checkpoint of another run to start from (tokenizer.json beside it); fresh optimizer")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    # One torch thread: the step's time is in matmuls, which run on the BLAS library's own pool (OpenBLAS
    # here, all cores). A second torch pool beside it oversubscribes the cores: 1.48 s per step with two
    # torch threads and 0.50 s with one on the 2-core build machine (bench/training/step.py).
    set_threads(default=1)
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = WordTokenizer(vocabulary())
    tokenizer.save(args.out / "tokenizer.json")
    data = PairTokens(args.tokens, args.data, tokenizer)
    codebook_size = int(json.loads((args.tokens / "stats.json").read_text())["codebook_size"])
    spec = model_spec(codebook_size, tokenizer.vocab_size)
    torch.manual_seed(args.seed)
    transformer, text_encoder = build_models(spec)
    mask_id = transformer.config.mask_token_id
    params = list(transformer.parameters()) + list(text_encoder.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.98),
    )
    checkpoint_path = args.out / "checkpoint.pt"
    step, spent, log_init = 0, 0.0, {}
    budget_seconds = seconds_until(args.until) if args.until else args.minutes * 60
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path)
        transformer.load_state_dict(state["transformer"])
        text_encoder.load_state_dict(state["text_encoder"])
        optimizer.load_state_dict(state["optimizer"])
        step, spent = state["step"], state["spent"]
        budget_seconds = max(state["budget_seconds"], (args.total_minutes or 0) * 60)
    elif args.init:
        load_initial_weights(args.init, transformer, text_encoder, tokenizer)
        log_init = {"init": str(args.init)}
    (args.out / "spec.json").write_text(json.dumps(spec, indent=2))
    log = JsonLog(args.out / "log.jsonl")
    log.write(event="start", step=step, budget_seconds=budget_seconds, spent=spent, **log_init,
              transformer_params=sum(p.numel() for p in transformer.parameters()),
              text_params=sum(p.numel() for p in text_encoder.parameters()))
    budget = Budget(budget_seconds, spent)
    last_save, train_count = budget.spent, data.count - HOLDOUT
    keep = frozenset(tokenizer.vocab[word] for word in content_words())
    weights = sampling_weights(data.kinds[:train_count], args.type_weights)
    smoothed, last_log = None, (step, budget.spent)
    while not budget.done:
        progress = budget.tick()
        lr = cosine_lr(args.lr, progress, warmup=0.03)
        for group in optimizer.param_groups:
            group["lr"] = lr
        rng = np.random.default_rng([args.seed, step])
        index = rng.choice(train_count, args.batch, replace=False, p=weights)
        batch = data.batch(index, rng.random(args.batch) < args.text_drop)
        batch["text"] = drop_words(rng, batch["text"], keep, args.word_dropout)
        masks = sample_masks(rng, batch["edit"], args.region_share)
        loss, accuracy, grad_norm = train_step(transformer, text_encoder, optimizer, batch, masks, mask_id)
        step += 1
        values = np.array([loss.item(), accuracy.item()])
        smoothed = values if smoothed is None else 0.95 * smoothed + 0.05 * values
        if step % 25 == 0 or step == 1:
            record = {"step": step, "lr": lr, "loss": float(smoothed[0]), "acc": float(smoothed[1]),
                      "grad_norm": float(grad_norm), "spent": round(budget.spent, 1),
                      "s_per_step": round((budget.spent - last_log[1]) / max(step - last_log[0], 1), 3)}
            last_log = (step, budget.spent)
            if step % 250 == 0:
                record.update(validate(transformer, text_encoder, data, mask_id))
            log.write(**record)
        if budget.spent - last_save > 240 or budget.done:
            save_checkpoint(
                checkpoint_path,
                {"transformer": transformer.state_dict(), "text_encoder": text_encoder.state_dict(),
                 "optimizer": optimizer.state_dict(), "step": step, "spent": budget.spent,
                 "budget_seconds": budget_seconds, "spec": spec},
            )
            last_save = budget.spent
    final = validate(transformer, text_encoder, data, mask_id)
    log.write(event="final", step=step, **final)
    save_checkpoint(
        args.out / "final.pt",
        {"transformer": transformer.state_dict(), "text_encoder": text_encoder.state_dict(), "step": step,
         "spec": spec, **final},
    )


if __name__ == "__main__":
    main()
