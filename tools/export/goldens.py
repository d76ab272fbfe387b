"""Golden tensors for the exported graphs: fixed inputs and the torch outputs of the same wrappers.

One safetensors file per graph (``<graph>.safetensors``), read by tests/model/onnx_goldens_test.ts:

* ``<case>/inputs/<name>``: every graph input of the case;
* ``<case>/outputs/<name>``: the torch output of the wrapper that was exported;
* ``<case>/near_tie/<output>`` (uint8, optional): 1 where an integer output may legitimately differ
  between runtimes: for ``sampled``, the draw's threshold lies within ``SAMPLING_TIE_MARGIN`` of a CDF
  boundary (computed in float64); for VQ ``tokens``, the two nearest codebook distances differ by less
  than ``ARGMIN_TIE_MARGIN`` (relative).

The ``__metadata__`` holds ``graph`` (file name in the package), ``cases`` (comma separated) and
``tolerances``: JSON ``{output: {"atol": a, "rtol": r}}`` meaning ``|onnx - torch| <= a + r * |torch|``
elementwise (integer outputs: exact, outside near ties).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from tools.safetensors import write_safetensors

from .graphs import TransformerStep, VQEncoder

SAMPLING_TIE_MARGIN = 1e-4
ARGMIN_TIE_MARGIN = 1e-4

# fp32 onnxruntime 1.30 (CPU) vs torch 1.13, measured on the fixture: log-probs differ by <= 1.2e-5,
# text_attention by <= 3e-8, VQ pixels by <= 3.3e-6, text features by <= 7.2e-7.
FP32_TOLERANCES = {
    "transformer": {"sampled_logprob": {"atol": 1e-4, "rtol": 1e-4}, "ref_logprob": {"atol": 1e-4, "rtol": 1e-4},
                    "text_attention": {"atol": 1e-6, "rtol": 1e-4}},
    "vq_decoder": {"pixels": {"atol": 2e-5, "rtol": 0}},
    "text_encoder": {"context": {"atol": 1e-5, "rtol": 1e-5}, "pooled": {"atol": 1e-5, "rtol": 1e-5}},
    "vq_encoder": {},
}

Case = Dict[str, np.ndarray]


def run(module: nn.Module, inputs: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Outputs of a graph wrapper (``module.OUTPUTS``) for named numpy inputs, in float32/int64."""
    with torch.no_grad():
        outputs = module.eval()(*(torch.from_numpy(np.ascontiguousarray(v)) for v in inputs.values()))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    return {name: value.numpy() for name, value in zip(module.OUTPUTS, outputs)}


def sampling_near_ties(logits: np.ndarray, guidance_scale: float, uniform: np.ndarray,
                       margin: float = SAMPLING_TIE_MARGIN) -> Dict[str, np.ndarray]:
    """float64 reference of the inverse-CDF draw and where it is fragile.

    logits [2, n, K] float32 (uncond, cond). Returns ``sampled`` [n] and ``near_tie`` [n] bool: the
    threshold ``u * cdf[K-1]`` is within ``margin`` of some ``cdf[k]`` (a last-bit difference in the
    probabilities could move the draw across that boundary).
    """
    logits = logits.astype(np.float64)
    mixed = logits[0] + guidance_scale * (logits[1] - logits[0])
    probs = np.exp(mixed - mixed.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    cdf = np.cumsum(probs, -1)
    threshold = uniform.reshape(-1, 1).astype(np.float64) * cdf[:, -1:]
    sampled = np.minimum((cdf < threshold).sum(-1), cdf.shape[-1] - 1)
    near_tie = (np.abs(cdf - threshold) < margin).any(-1)
    return {"sampled": sampled, "near_tie": near_tie}


def step_near_ties(step: TransformerStep, inputs: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """``sampling_near_ties`` of one step case (logits recomputed with the wrapper's own path)."""
    names = ("tokens", "ref_tokens", "context", "pooled", "micro_conds", "timestep", "log_gamma")
    with torch.no_grad():
        logits, _ = step.logits_and_attention(*(torch.from_numpy(inputs[n]) for n in names))
    logits = logits.float().flatten(2).transpose(1, 2)  # [2, n, K]
    return sampling_near_ties(logits.numpy(), float(inputs["guidance_scale"]), inputs["uniform"])


def argmin_near_ties(encoder: VQEncoder, pixels: np.ndarray, margin: float = ARGMIN_TIE_MARGIN) -> np.ndarray:
    """[1,h,w] bool: the two smallest codebook distances differ by less than ``margin`` relative."""
    with torch.no_grad():
        latents = encoder.vq.encode_latents(torch.from_numpy(pixels)).double()
        codebook = encoder.vq.quantize.embedding.weight.double()
        flat = latents.permute(0, 2, 3, 1)
        distances = ((flat[..., None, :] - codebook) ** 2).sum(-1).numpy()
    two = np.sort(distances, axis=-1)[..., :2]
    return (two[..., 1] - two[..., 0]) < margin * np.maximum(1.0, np.abs(two[..., 0]))


def write_golden(path: Path, graph: str, cases: Mapping[str, Mapping[str, Case]],
                 tolerances: Mapping[str, Mapping[str, float]]) -> None:
    """Write one graph's golden file; ``cases[name]`` has ``inputs``, ``outputs`` and optional ``near_tie``."""
    tensors = {}
    for case, groups in cases.items():
        for group, values in groups.items():
            for name, value in values.items():
                value = np.asarray(value)
                tensors[f"{case}/{group}/{name}"] = value.astype(np.uint8) if value.dtype == bool else value
    metadata = {"graph": graph, "cases": ",".join(cases), "tolerances": json.dumps(tolerances, sort_keys=True)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, tensors, metadata)


def step_cases(vq_grid: Sequence[int], text_length: int, context_dim: int, pooled_dim: int, codebook_size: int,
               mask_token_id: int, micro_conds: Sequence[float], timestep: str, seed: int) -> Dict[str, Case]:
    """Fixed step-graph inputs: a mid-edit step, the first step (all masked), and a strong-guidance step.

    Uniforms include the edges 0 and the largest float32 below 1.
    """
    rng = np.random.default_rng(seed)
    height, width = vq_grid
    n = height * width
    ref = rng.integers(0, codebook_size, (1, height, width), dtype=np.int64)

    def case(masked_fraction: float, guidance: float, gamma: float, step_index: float) -> Case:
        tokens = ref.copy()
        masked = rng.random((1, height, width)) < masked_fraction
        tokens[masked] = mask_token_id
        keep = ~masked
        tokens[keep] = rng.integers(0, codebook_size, int(keep.sum()))  # known: generated codes, not the ref
        uniform = rng.random((1, n)).astype(np.float32)
        uniform[0, :2] = [0.0, np.nextafter(np.float32(1), np.float32(0))]
        t = float(masked.mean()) if timestep == "mask-ratio" else step_index
        return {
            "tokens": tokens, "ref_tokens": ref,
            "context": rng.standard_normal((2, text_length, context_dim)).astype(np.float32),
            "pooled": rng.standard_normal((2, pooled_dim)).astype(np.float32),
            "micro_conds": np.asarray(micro_conds, np.float32),
            "timestep": np.asarray([t], np.float32),
            "log_gamma": np.asarray(np.log(gamma), np.float32),
            "guidance_scale": np.asarray(guidance, np.float32),
            "uniform": uniform,
        }

    return {"mid_edit": case(0.5, 2.0, 1.1, 5.0), "first_step": case(1.0, 1.0, 1.0, 11.0),
            "strong_guidance": case(0.8, 6.0, 2.0, 8.0)}


def smooth_image(resolution: int, seed: int) -> np.ndarray:
    """[1,3,H,W] float32 in [0,1]: a few random sinusoids per channel plus a hard-edged rectangle."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:resolution, 0:resolution] / resolution
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 2 * np.pi)
        channels.append(0.5 + 0.4 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    image = np.stack(channels)
    top, left = rng.integers(0, resolution // 2, 2)
    image[:, top:top + resolution // 3, left:left + resolution // 3] = rng.random((3, 1, 1))
    return image[None].astype(np.float32)
