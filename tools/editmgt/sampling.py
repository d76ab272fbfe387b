"""Reference MaskGIT sampling loop (upstream EditMGT inference + our step-graph and sampler contract).

The split mirrors the product: ``TorchStep`` does one transformer step's heavy work exactly as the exported
step graph (both CFG halves, ``u + g (c - u)``, softmax, inverse-CDF draw from given uniforms, log-probs,
text->image attention); ``sample`` does everything N-sized (schedule, Gumbel confidence, region hold,
inpainting) as ``src/sampler`` does, in float64 from the float32 step outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .localization import TextRows, auto_lambda, localization_map
from .rng import CATEGORICAL_STREAM, GUMBEL_STREAM, Xoshiro128
from .transformer import Transformer2DModel

LOGPROB_FLOOR = 1e-20


class StepOutput(NamedTuple):
    """Outputs of one transformer step (the step graph's), flattened row-major over the token grid."""

    sampled: np.ndarray  # int64 [n]
    sampled_logprob: np.ndarray  # float32 [n]
    ref_logprob: np.ndarray  # float32 [n]
    text_attention: Optional[np.ndarray]  # float32 [T, n_img] or None without localization blocks


def categorical_draw(
    uncond: torch.Tensor, cond: torch.Tensor, guidance: Union[float, torch.Tensor], uniform: torch.Tensor,
    ref_tokens: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(sampled, sampled_logprob, ref_logprob), each [B, n], from CFG halves' logits [B,K,h,w].

    logits = u + g (c - u); p = softmax; cdf = cumsum(p); sampled = min(K-1, count(cdf < uniform * cdf[K-1]));
    logprobs are log(max(p, 1e-20)) of the sampled and of the ref token. uniform: [B, n]; ref_tokens [B,h,w].
    """
    logits = uncond + guidance * (cond - uncond)
    probs = logits.flatten(2).transpose(1, 2).softmax(dim=-1)
    cdf = probs.cumsum(dim=-1)
    threshold = uniform[..., None] * cdf[..., -1:]
    # Counted in float32 (exact up to 2^24 codes): an int64 ReduceSum has no WebGPU kernel in onnxruntime-web.
    count = (cdf < threshold).to(torch.float32).sum(dim=-1).to(torch.int64)
    sampled = torch.minimum(count, torch.full_like(count, probs.shape[-1] - 1))

    def logprob(ids: torch.Tensor) -> torch.Tensor:
        return probs.gather(-1, ids[..., None])[..., 0].clamp_min(LOGPROB_FLOOR).log()

    return sampled, logprob(sampled), logprob(ref_tokens.flatten(1))


def mean_text_attention(captured: torch.Tensor) -> torch.Tensor:
    """Step-graph ``text_attention`` [T, n] from a capture [2, blocks, heads, T, n]: cond half, mean of heads+blocks."""
    return captured[1].mean(dim=(0, 1))


class TorchStep:
    """One step of the torch model with the step graph's semantics (a ``StepFn`` for ``sample``).

    context [2,T,D] and pooled [2,P] hold the unconditional/negative row 0 and the instruction row 1.
    """

    def __init__(
        self,
        model: Transformer2DModel,
        context: torch.Tensor,
        pooled: torch.Tensor,
        micro_conds: torch.Tensor,
        log_gamma: float,
        guidance: float,
        localization_blocks: Sequence[int] = (),
    ):
        self.model = model
        self.context = context
        self.pooled = pooled
        self.micro_conds = micro_conds
        self.log_gamma = torch.tensor(log_gamma, dtype=torch.float32)
        self.guidance = guidance
        self.localization_blocks = list(localization_blocks)

    @torch.no_grad()
    def __call__(self, tokens: np.ndarray, ref_tokens: np.ndarray, timestep: float, uniform: np.ndarray) -> StepOutput:
        """Run the model on tokens/ref_tokens [h,w] (both CFG halves) and draw with ``uniform`` [h*w]."""
        batch_tokens = torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))[None].expand(2, -1, -1)
        batch_ref = torch.from_numpy(np.ascontiguousarray(ref_tokens, dtype=np.int64))[None].expand(2, -1, -1)
        result = self.model(
            batch_tokens,
            batch_ref,
            self.context,
            self.pooled,
            self.micro_conds,
            torch.tensor([timestep], dtype=torch.float32),
            self.log_gamma,
            capture_blocks=self.localization_blocks or None,
        )
        logits, captured = result if self.localization_blocks else (result, None)
        uncond, cond = logits.chunk(2)
        sampled, sampled_logprob, ref_logprob = categorical_draw(
            uncond, cond, self.guidance, torch.from_numpy(uniform)[None], batch_ref[:1]
        )
        attention = mean_text_attention(captured).numpy() if captured is not None else None
        return StepOutput(sampled[0].numpy(), sampled_logprob[0].numpy(), ref_logprob[0].numpy(), attention)


StepFn = Callable[[np.ndarray, np.ndarray, float, np.ndarray], StepOutput]


def mask_ratio(schedule: str, step: int, steps: int) -> float:
    """Fraction of the starting mask left after step ``step``: cosine ``cos(pi/2 (i+1)/N)`` or linear ``1-(i+1)/N``."""
    progress = (step + 1) / steps
    if schedule == "cosine":
        return math.cos(math.pi / 2 * progress)
    if schedule == "linear":
        return 1 - progress
    raise ValueError(f"unknown schedule {schedule!r} (cosine or linear)")


def mask_length(token_count: int, starting_mask_ratio: float, ratio: float, unknown: int) -> int:
    """``max(1, min(unknown - 1, floor(n * starting_mask_ratio * ratio)))``, as upstream clamps it."""
    return max(1, min(unknown - 1, math.floor(token_count * (starting_mask_ratio * ratio))))


def temperatures(temperature: Union[float, Tuple[float, float]], steps: int) -> np.ndarray:
    """``linspace(first, last, steps)`` (torch's algorithm, float64); a scalar T means ``(T, 0.01)``."""
    first, last = (temperature, 0.01) if isinstance(temperature, (int, float)) else temperature
    return torch.linspace(first, last, steps, dtype=torch.float64).numpy()


def timestep_value(convention: str, step: int, steps: int, masked_fraction: float) -> float:
    """Graph ``timestep``: ``steps-1-step`` ("step-index") or the masked fraction ("mask-ratio")."""
    if convention == "step-index":
        return float(steps - 1 - step)
    if convention == "mask-ratio":
        return masked_fraction
    raise ValueError(f"unknown timestep convention {convention!r}")


def gumbel(uniform: np.ndarray) -> np.ndarray:
    """Gumbel noise with upstream's clamps: ``-log(max(-log(max(u, 1e-20)), 1e-20))`` (float64)."""
    u = np.maximum(uniform.astype(np.float64), 1e-20)
    return -np.log(np.maximum(-np.log(u), 1e-20))


def maskgit_step(
    tokens: np.ndarray,
    ref_tokens: np.ndarray,
    output: StepOutput,
    mask_token_id: int,
    last: bool,
    mask_len: int,
    temperature: float,
    gumbel_uniform: np.ndarray,
    hold_map: Optional[np.ndarray],
    lam: float,
) -> Tuple[np.ndarray, np.ndarray, int]:
    """One MaskGIT step over flat tokens [n]; returns (new tokens, prediction, held count).

    Known tokens stay and are never re-masked; a masked token takes the ref token when region hold applies
    (``lam >= 1``, or ``lam > 0`` and ``S_L < lam``; confidence = ref log-prob) and the sampled token otherwise.
    On the last step the prediction is the result; otherwise confidence ``logp + T * Gumbel(u)`` and tokens
    below ``sort(confidence)[mask_len]`` are masked again.
    """
    masked = tokens == mask_token_id
    held = np.zeros_like(masked)
    if hold_map is not None and lam > 0:
        held = masked & ((hold_map < lam) | (lam >= 1))
    prediction = np.where(masked, np.where(held, ref_tokens, output.sampled), tokens)
    if last:
        return prediction, prediction, int(held.sum())
    logprob = np.where(held, output.ref_logprob, output.sampled_logprob).astype(np.float64)
    confidence = np.where(masked, logprob + temperature * gumbel(gumbel_uniform), np.inf)
    cut = np.sort(confidence)[mask_len] if mask_len < tokens.size else np.inf
    return np.where(confidence < cut, mask_token_id, prediction), prediction, int(held.sum())


@dataclass
class SampleResult:
    """Final tokens [h,w], the seed (None with injected uniforms), the last step's maps (or None) and the
    lambda of the last step that computed a map (resolved when "auto"; 0 when nothing was held)."""

    tokens: np.ndarray
    seed: Optional[int]
    attention_map: Optional[np.ndarray]
    token_map: Optional[np.ndarray]
    lam: float = 0.0


@dataclass
class StepReport:
    """What one step did (passed to ``on_step``); ``lam`` is the lambda it held with (resolved when "auto")."""

    step: int
    timestep: float
    tokens: np.ndarray
    prediction: np.ndarray
    held: int
    lam: float


def sample(
    step_fn: StepFn,
    ref_tokens: np.ndarray,
    mask_token_id: int,
    steps: int = 12,
    temperature: Union[float, Tuple[float, float]] = (2.0, 0.0),
    schedule: str = "cosine",
    timestep_convention: str = "step-index",
    lam: Union[float, str] = 0.0,
    attention_grid: Optional[Tuple[int, int]] = None,
    rows: TextRows = "all",
    user_mask: Optional[np.ndarray] = None,
    seed: Optional[int] = None,
    uniforms: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    on_step: Optional[Callable[[StepReport], None]] = None,
) -> SampleResult:
    """Decode tokens [h,w] from all-mask (or the ``user_mask`` region of ``ref_tokens``) in ``steps`` steps.

    Randomness: ``uniforms = (categorical [steps, n], gumbel [steps, n])`` if given, else the two seeded
    xoshiro128** streams of ``seed`` (default 0), exactly as ``src/sampler``. ``lam`` is a number in [0,1]
    or "auto" (picked per step from the map by ``auto_lambda``, as ``src/sampler``); ``lam`` != 0 needs
    ``attention_grid`` (the transformer grid) and a step_fn returning ``text_attention``. ``ref_tokens`` is
    never modified; inpainting starts from it with the user mask's tokens masked.
    """
    if isinstance(lam, str) and lam != "auto":
        raise ValueError(f'lam must be a number in [0, 1] or "auto", got {lam!r}')
    grid = ref_tokens.shape
    n = ref_tokens.size
    ref_flat = ref_tokens.reshape(-1).astype(np.int64)
    if user_mask is None:
        tokens = np.full(n, mask_token_id, dtype=np.int64)
    else:
        tokens = np.where(user_mask.reshape(-1).astype(bool), mask_token_id, ref_flat)
    starting_mask_ratio = float((tokens == mask_token_id).sum()) / n
    if uniforms is None:
        seed = 0 if seed is None else seed
        categorical = Xoshiro128.from_seed(seed, CATEGORICAL_STREAM)
        gumbel_stream = Xoshiro128.from_seed(seed, GUMBEL_STREAM)
        draws: List[Tuple[np.ndarray, np.ndarray]] = [
            (categorical.uniforms(n), gumbel_stream.uniforms(n)) for _ in range(steps)
        ]
    else:
        seed = None
        draws = list(zip(np.asarray(uniforms[0], np.float32), np.asarray(uniforms[1], np.float32)))
    step_temperatures = temperatures(temperature, steps)
    attention_map, token_map, step_lam = None, None, 0.0
    for step in range(steps):
        unknown = int((tokens == mask_token_id).sum())
        timestep = timestep_value(timestep_convention, step, steps, unknown / n)
        uniform, gumbel_uniform = draws[step]
        output = step_fn(tokens.reshape(grid), ref_tokens, timestep, uniform)
        last = step == steps - 1
        if output.text_attention is not None and attention_grid is not None and (lam != 0 or last):
            attention_map, token_map = localization_map(output.text_attention, attention_grid, grid, rows)
            step_lam = auto_lambda(attention_map) if lam == "auto" else float(lam)
        elif lam != 0:
            raise ValueError("region hold (lam != 0) needs attention_grid and text_attention")
        hold_map = token_map.reshape(-1) if token_map is not None else None
        length = mask_length(n, starting_mask_ratio, mask_ratio(schedule, step, steps), unknown)
        tokens, prediction, held = maskgit_step(
            tokens, ref_flat, output, mask_token_id, last, length, step_temperatures[step], gumbel_uniform,
            hold_map, step_lam,
        )
        if on_step is not None:
            on_step(StepReport(step, timestep, tokens.reshape(grid).copy(), prediction.reshape(grid), held,
                               step_lam))
    return SampleResult(tokens.reshape(grid), seed, attention_map, token_map, step_lam)
