"""The reference MaskGIT loop with ``lambda: "auto"`` (resolved per step from the map, as src/sampler does).

``editmgt.sampling.sample`` takes a fixed lambda; this loop is the same loop, built from that module's
pieces, with the lambda of each step either fixed or picked by ``rows.auto_lambda`` on the step's map.
For a fixed lambda it gives exactly ``sample``'s tokens (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

from editmgt.localization import TextRows, localization_map
from editmgt.rng import CATEGORICAL_STREAM, GUMBEL_STREAM, Xoshiro128
from editmgt.sampling import (StepFn, mask_length, mask_ratio, maskgit_step, temperatures, timestep_value)

from .rows import auto_lambda

Lambda = Union[float, str]


@dataclass
class Sampled:
    """Final tokens [h,w], the last step's S_L on the token grid (or None) and the lambda it used."""

    tokens: np.ndarray
    token_map: Optional[np.ndarray]
    lam: float


def sample_tokens(
    step_fn: StepFn,
    ref_tokens: np.ndarray,
    mask_token_id: int,
    attention_grid: Tuple[int, int],
    steps: int = 12,
    lam: Lambda = 0.0,
    rows: TextRows = "all",
    temperature: Tuple[float, float] = (2.0, 0.0),
    schedule: str = "cosine",
    timestep_convention: str = "mask-ratio",
    seed: int = 0,
) -> Sampled:
    """Edit from all-mask with the seeded streams of ``seed``; ``lam`` is a number in [0,1] or "auto"."""
    grid, n = ref_tokens.shape, ref_tokens.size
    ref_flat = ref_tokens.reshape(-1).astype(np.int64)
    tokens = np.full(n, mask_token_id, dtype=np.int64)
    categorical = Xoshiro128.from_seed(seed, CATEGORICAL_STREAM)
    gumbel_stream = Xoshiro128.from_seed(seed, GUMBEL_STREAM)
    step_temperatures = temperatures(temperature, steps)
    token_map, used = None, 0.0
    for step in range(steps):
        unknown = int((tokens == mask_token_id).sum())
        uniform, gumbel_uniform = categorical.uniforms(n), gumbel_stream.uniforms(n)
        output = step_fn(tokens.reshape(grid), ref_tokens, timestep_value(timestep_convention, step, steps, unknown / n),
                         uniform)
        last = step == steps - 1
        if output.text_attention is not None and (lam != 0 or last):
            attention_map, token_map = localization_map(output.text_attention, attention_grid, grid, rows)
            used = auto_lambda(attention_map) if lam == "auto" else float(lam)
        length = mask_length(n, 1.0, mask_ratio(schedule, step, steps), unknown)
        hold_map = token_map.reshape(-1) if token_map is not None else None
        tokens, _, _ = maskgit_step(tokens, ref_flat, output, mask_token_id, last, length, step_temperatures[step],
                                    gumbel_uniform, hold_map, used)
    return Sampled(tokens.reshape(grid), token_map, used)
