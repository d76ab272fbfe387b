"""Train the tiny VQ tokenizer on edit pairs, with a time budget, checkpoints and resume.

Recipe (lessons of the feasibility run in issue 4):
- reconstruction L1 + L2 on source AND target images of each pair, commitment 0.25; pixels are centred
  to [-1, 1] on both ends while training and the centring is folded into conv_in/conv_out at the end;
- a first phase (15% of the budget) trains a plain autoencoder; the codebook then starts from k-means
  centres of its latents and follows them by EMA (decay 0.99); dead codes restart from the latents
  with the highest quantization error (random restarts collapsed the codebook before);
- locality: outside the edit's token mask, the target's pre-quantization latents are pulled to the
  source's, so an edit does not change the tokens of unedited regions (the encoder's group norms
  and 3x3 convs would otherwise let a change leak into far tokens).

Usage: python3 -m tools.train.train_vq --data runs/data --out runs/vq --minutes 35
"""

import argparse
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from tools.train.common import (
    Budget,
    JsonLog,
    cosine_lr,
    dilate,
    load_pairs,
    save_checkpoint,
    set_threads,
    to_pixels,
    token_mask,
)
from tools.editmgt.configs import vq_config
from tools.editmgt.vq import VQConfig, VQModel

VQ_OVERRIDES = {"base": "tiny", "block_out_channels": [16, 32, 96], "num_vq_embeddings": 512, "norm_num_groups": 0,
                "encoder": "patch"}
"""The shipped tiny VQ: the toolchain's `tiny` VQ config, narrower at full resolution (CPU budget), 512 codes,
a patch encoder and per-position norms instead of group norms. Locality is built in: a token depends on its own 4x4 patch only and the
decoder has no image-wide statistics, so an edit cannot change the tokens (or, beyond the decoder's few-pixel
reach, the pixels) of the regions it does not touch. (A first VQ with one norm group over a conv encoder
changed 27% of the tokens outside edits, and the transformer learned to leak.)"""


def centred_encode(vq: VQModel, pixels: torch.Tensor) -> torch.Tensor:
    """Training-time latents: the encoder sees pixels mapped to [-1, 1] (outside the image: -1, i.e. pixel 0),
    which trains several times faster than raw [0, 1] input; `fold_centring` makes it the plain encoder."""
    encoder = vq.encoder
    if vq.config.encoder == "patch":
        return vq.quant_conv(encoder(2 * pixels - 1))
    padded = F.pad(2 * pixels - 1, (1, 1, 1, 1), value=-1.0)
    hidden = F.conv2d(padded, encoder.conv_in.weight, encoder.conv_in.bias)
    for block in encoder.down_blocks:
        hidden = block(hidden)
    hidden = encoder.mid_block(hidden)
    return vq.quant_conv(encoder.conv_out(F.silu(encoder.conv_norm_out(hidden))))


def centred_decode(vq: VQModel, z_q: torch.Tensor) -> torch.Tensor:
    """Training-time decoder output: the decoder predicts pixels in [-1, 1] (faster to learn), mapped to [0, 1]."""
    return (vq.decode_latents(z_q) + 1) / 2


def fold_centring(vq: VQModel) -> VQModel:
    """A copy whose plain encode/decode equal `centred_encode`/`centred_decode` exactly.

    conv_in: W' = 2W, b' = b - sum(W) (its zero padding of [0,1] pixels is the -1 padding of centred ones);
    conv_out: W' = W/2, b' = (b+1)/2.
    """
    folded = VQModel(vq.config)
    folded.load_state_dict(vq.state_dict())
    with torch.no_grad():
        conv_in = folded.encoder.conv_in
        conv_in.bias.sub_(conv_in.weight.sum(dim=(1, 2, 3)))
        conv_in.weight.mul_(2.0)
        folded.decoder.conv_out.weight.mul_(0.5)
        folded.decoder.conv_out.bias.add_(1.0).mul_(0.5)
    return folded.eval()


HOLDOUT = 512
"""The last HOLDOUT pairs of the training arrays are never trained on: the VQ is measured on them."""


class EmaCodebook:
    """Exponential-moving-average codebook updates with dead-code restarts (state lives in a dict)."""

    def __init__(self, weight: torch.Tensor, decay: float = 0.99):
        self.decay = decay
        self.count = torch.ones(weight.shape[0])
        self.total = weight.detach().clone()
        self.usage = torch.ones(weight.shape[0])

    def state(self) -> dict:
        """Tensors to checkpoint."""
        return {"count": self.count, "total": self.total, "usage": self.usage}

    def load(self, state: dict) -> None:
        """Restore from `state()`."""
        self.count, self.total, self.usage = state["count"], state["total"], state["usage"]

    def update(self, weight: torch.Tensor, latents: torch.Tensor, ids: torch.Tensor) -> None:
        """Move each used code towards the mean of the latents assigned to it (in place on `weight`)."""
        one_hot = F.one_hot(ids, weight.shape[0]).float()
        batch_count = one_hot.sum(0)
        self.count.mul_(self.decay).add_(batch_count, alpha=1 - self.decay)
        self.total.mul_(self.decay).add_(one_hot.t() @ latents, alpha=1 - self.decay)
        n = self.count.sum()
        smoothed = (self.count + 1e-5) / (n + weight.shape[0] * 1e-5) * n
        weight.copy_(self.total / smoothed[:, None])
        self.usage.mul_(0.9).add_(batch_count, alpha=0.1)

    def restart_dead(self, weight: torch.Tensor, latents: torch.Tensor, errors: torch.Tensor) -> int:
        """Re-seed codes unused lately with the worst-quantized latents of the batch; returns how many."""
        dead = torch.nonzero(self.usage < 0.05).flatten()
        if len(dead) == 0:
            return 0
        worst = torch.argsort(errors, descending=True)[: len(dead)]
        dead = dead[: len(worst)]
        fresh = latents[worst] + 1e-3 * torch.randn_like(latents[worst])
        weight[dead] = fresh
        self.total[dead] = fresh
        self.count[dead] = 1.0
        self.usage[dead] = 1.0
        return len(dead)


@torch.no_grad()
def kmeans_init(vq: VQModel, batches, iterations: int = 12) -> None:
    """Set the codebook to k-means centres of the encoder's latents over `batches` of pixels."""
    latents = torch.cat([centred_encode(vq, p).permute(0, 2, 3, 1).reshape(-1, vq.config.latent_channels)
                         for p in batches])
    k = vq.config.num_vq_embeddings
    centres = latents[torch.randperm(len(latents))[:k]].clone()
    for _ in range(iterations):
        ids = torch.cdist(latents, centres).argmin(1)
        sums = torch.zeros_like(centres).index_add_(0, ids, latents)
        counts = torch.bincount(ids, minlength=k).float()
        empty = counts == 0
        centres = torch.where(empty[:, None], latents[torch.randint(len(latents), (k,))], sums / counts.clamp_min(1)[:, None])
    vq.quantize.embedding.weight.copy_(centres)


def vq_step(vq: VQModel, pixels: torch.Tensor):
    """Encode, quantize (straight-through), decode: (reconstruction, latents z_e, quantized z_q, ids)."""
    z_e = centred_encode(vq, pixels)
    ids = vq.quantize.nearest_ids(z_e)
    z_q = vq.quantize.lookup(ids)
    recon = centred_decode(vq, z_e + (z_q - z_e).detach())
    return recon, z_e, z_q, ids


def psnr(recon: torch.Tensor, pixels: torch.Tensor) -> float:
    """PSNR in dB of images in [0,1], over the whole batch (reconstruction clipped to [0,1])."""
    mse = F.mse_loss(recon.clamp(0, 1), pixels).item()
    return 10 * np.log10(1.0 / max(mse, 1e-12))


@torch.no_grad()
def evaluate(vq: VQModel, source, target, mask) -> dict:
    """PSNR over held-out pairs and the share of tokens outside edits whose ids differ source vs target."""
    vq.eval()
    errors, changed, outside = [], 0, 0
    changed_dilated, outside_dilated = 0, 0
    for start in range(0, len(source), 64):
        src, tgt = to_pixels(source[start : start + 64]), to_pixels(target[start : start + 64])
        _, src_ids = vq.encode(src)
        _, tgt_ids = vq.encode(tgt)
        for pixels, ids in ((src, src_ids), (tgt, tgt_ids)):
            recon = vq.decode(ids).clamp(0, 1)
            errors.append(((recon - pixels) ** 2).mean(dim=(1, 2, 3)))
        edit = torch.from_numpy(token_mask(np.asarray(mask[start : start + 64])))
        differs = src_ids != tgt_ids
        changed += (differs & ~edit).sum().item()
        outside += (~edit).sum().item()
        wide = dilate(edit)
        changed_dilated += (differs & ~wide).sum().item()
        outside_dilated += (~wide).sum().item()
    mse = torch.cat(errors)
    vq.train()
    return {
        "psnr": float(10 * torch.log10(1.0 / mse.mean())),
        "psnr_mean_per_image": float((10 * torch.log10(1.0 / mse.clamp_min(1e-12))).mean()),
        "changed_outside": changed / max(outside, 1),
        "changed_outside_dilated": changed_dilated / max(outside_dilated, 1),
    }


class Training:
    """A VQ run's state with its lifetime (checkpointed and resumed): the model, its optimizer, the EMA codebook,
    steps taken, seconds spent and whether the codebook has left the autoencoder phase (k-means init)."""

    def __init__(self, config: VQConfig, lr: float):
        self.config = config
        self.vq = VQModel(config)
        self.vq.quantize.embedding.weight.requires_grad_(False)
        self.params = [p for p in self.vq.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.params, lr=lr, betas=(0.9, 0.99))
        self.ema = EmaCodebook(self.vq.quantize.embedding.weight)
        self.step, self.spent, self.initialised = 0, 0.0, False

    def resume(self, path: Path) -> None:
        """Load a checkpoint written by `save`."""
        state = torch.load(path)
        self.vq.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.ema.load(state["ema"])
        self.step, self.spent, self.initialised = state["step"], state["spent"], state["initialised"]

    def save(self, path: Path, spent: float) -> None:
        """Checkpoint everything `resume` needs."""
        save_checkpoint(
            path,
            {"model": self.vq.state_dict(), "optimizer": self.optimizer.state_dict(), "ema": self.ema.state(),
             "step": self.step, "spent": spent, "vq_config": VQ_OVERRIDES, "initialised": self.initialised},
        )

    def set_lr(self, lr: float) -> None:
        """The learning rate of every parameter group."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def start_codebook(self, batches) -> None:
        """End of the autoencoder phase: k-means codebook over `batches` of pixels, a fresh EMA from it."""
        kmeans_init(self.vq, batches)
        self.ema = EmaCodebook(self.vq.quantize.embedding.weight)
        self.initialised = True

    def optimize(self, loss: torch.Tensor) -> None:
        """One clipped Adam step on `loss`."""
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=25)
    parser.add_argument("--batch-pairs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1.5e-3)
    parser.add_argument("--locality", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--autoencoder-phase", type=float, default=0.15,
                        help="share of the budget trained without quantization before the k-means codebook init")
    return parser.parse_args(argv)


def autoencoder_step(run: Training, pixels: torch.Tensor) -> dict:
    """Phase 1: the plain autoencoder (no quantization), L1 + L2 reconstruction; returns the step's log fields."""
    recon = centred_decode(run.vq, centred_encode(run.vq, pixels))
    loss = F.l1_loss(recon, pixels) + F.mse_loss(recon, pixels)
    run.optimize(loss)
    run.step += 1
    if run.step % 20 != 0:
        return {}
    return {"phase": "autoencoder", "loss": loss.item(), "psnr": psnr(recon.detach(), pixels)}


def quantized_step(run: Training, pixels: torch.Tensor, keep: torch.Tensor, locality_weight: float) -> dict:
    """Phase 2: reconstruction + commitment + locality outside the edits (``keep`` [B,h,w] of the pairs), then the
    EMA codebook update and, every 10 steps, dead-code restarts; returns the step's log fields."""
    config, vq = run.config, run.vq
    recon, z_e, z_q, ids = vq_step(vq, pixels)
    rec_loss = F.l1_loss(recon, pixels) + F.mse_loss(recon, pixels)
    commit = F.mse_loss(z_e, z_q.detach())
    z_src, z_tgt = z_e[: len(keep)], z_e[len(keep) :]
    diff = ((z_tgt - z_src) ** 2).mean(1)
    locality = (diff * keep).sum() / keep.sum().clamp_min(1)
    scale = (z_e.detach() ** 2).mean().clamp_min(1e-6)
    loss = rec_loss + config.commitment_beta * commit + locality_weight * locality / scale
    run.optimize(loss)
    with torch.no_grad():
        flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, config.latent_channels)
        flat_ids = ids.flatten()
        run.ema.update(vq.quantize.embedding.weight, flat, flat_ids)
        restarted = 0
        if run.step % 10 == 0:
            errors = ((flat - vq.quantize.embedding.weight[flat_ids]) ** 2).sum(1)
            restarted = run.ema.restart_dead(vq.quantize.embedding.weight, flat, errors)
    run.step += 1
    if not (run.step % 20 == 0 or run.step == 1):
        return {}
    counts = torch.bincount(flat_ids, minlength=config.num_vq_embeddings).float()
    probs = counts / counts.sum()
    return {
        "loss": loss.item(),
        "rec": rec_loss.item(),
        "commit": commit.item(),
        "locality": (locality / scale).item(),
        "psnr": psnr(recon.detach(), pixels),
        "perplexity": float(torch.exp(-(probs * (probs + 1e-10).log()).sum())),
        "live_codes": int((run.ema.usage > 0.05).sum()),
        "restarted": restarted,
    }


def finish(run: Training, out: Path, log: JsonLog, source, target, mask) -> None:
    """Fold the centring into the model, measure it on the held-out pairs, write final.pt and metrics.json."""
    vq = run.vq
    final = fold_centring(vq)
    with torch.no_grad():
        probe = to_pixels(source[:8])
        vq.eval()
        fold_error = (centred_decode(vq, centred_encode(vq, probe)) - final.decode_latents(final.encode_latents(probe)))
    metrics = {**evaluate(final, source, target, mask), "fold_error": fold_error.abs().max().item()}
    log.write(step=run.step, final=True, **metrics)
    save_checkpoint(out / "final.pt", {"model": final.state_dict(), "vq_config": VQ_OVERRIDES, "step": run.step,
                                       **metrics})
    (out / "metrics.json").write_text(json.dumps({"step": run.step, **metrics}, indent=2))


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry point (see module doc): autoencoder phase, k-means codebook, quantized phase with
    checkpoints every 3 minutes, then the folded final model and its metrics."""
    args = parse_args(argv)
    set_threads()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    source, target, mask, _ = load_pairs(args.data)
    train_count = len(source) - HOLDOUT
    run = Training(vq_config(VQ_OVERRIDES), args.lr)
    checkpoint_path = args.out / "checkpoint.pt"
    if checkpoint_path.exists():
        run.resume(checkpoint_path)
        rng = np.random.default_rng([args.seed, run.step])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config.json").write_text(json.dumps({"vq_config": VQ_OVERRIDES}, indent=2))
    log = JsonLog(args.out / "log.jsonl")
    budget = Budget(args.minutes * 60, run.spent)
    last_save = budget.spent
    while not budget.done:
        progress = budget.tick()
        lr = cosine_lr(args.lr, progress, warmup=0.03)
        run.set_lr(lr)
        index = np.sort(rng.choice(train_count, args.batch_pairs, replace=False))
        pixels = torch.cat([to_pixels(source[index]), to_pixels(target[index])])
        if not run.initialised and progress >= args.autoencoder_phase:
            run.start_codebook([to_pixels(np.concatenate([source[i], target[i]])) for i in
                                (np.sort(rng.choice(train_count, 16, replace=False)) for _ in range(8))])
        if not run.initialised:
            record = autoencoder_step(run, pixels)
        else:
            keep = ~torch.from_numpy(token_mask(np.asarray(mask[index])))
            record = quantized_step(run, pixels, keep, args.locality)
        if record:
            log.write(step=run.step, lr=lr, **record, spent=round(budget.spent, 1))
        if run.initialised and (budget.spent - last_save > 180 or budget.done):
            run.save(checkpoint_path, budget.spent)
            last_save = budget.spent
    held = slice(train_count, len(source))
    finish(run, args.out, log, source[held], target[held], mask[held])


if __name__ == "__main__":
    main()
