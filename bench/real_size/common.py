"""Shared by the real-size step-graph scripts: the model, its step inputs and the files they live in.

The graph is the ``editmgt-1024`` transformer (real widths: 8 heads x 128, text context 2304, pooled
1024, codebook 8192, 64x64 VQ grid downsampled to a 32x32 transformer grid, 256 text rows) cut down to
``DOUBLE`` double-stream and ``SINGLE`` single-stream blocks, with random weights from ``SEED``. The
localization capture runs on the single block (upstream captures single blocks only). Files go to
``/tmp/editmgt-real-size`` by default: the ONNX file is hundreds of MB and never committed.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import torch

from tools.editmgt.configs import transformer_config
from tools.editmgt.transformer import Transformer2DModel
from tools.export.graphs import TransformerStep
from tools.export.models import randomize
from tools.export.package import STEP_INPUTS

DEFAULT_DIR = Path("/tmp/editmgt-real-size")
SEED = 0
DOUBLE = 1
SINGLE = 1
VQ_GRID = (64, 64)
TEXT_LENGTH = 256
MICRO_CONDS = (1024.0, 1024.0, 0.0, 0.0, 6.0)
GUIDANCE = 6.0  # upstream inference default
GAMMA = 1.1

DTYPES = {"int64": np.int64, "float32": np.float32}


def machine() -> Dict[str, Any]:
    """CPU model, core count and load averages of this machine (Linux /proc), for the report."""
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpu": cpu, "cores": os.cpu_count(), "loadAverage": [round(v, 2) for v in os.getloadavg()]}


def config_spec(base: str, double: int, single: int) -> Dict[str, Any]:
    """The transformer config dict: ``base`` with the block counts replaced."""
    return {"base": base, "num_layers": double, "num_single_layers": single}


def build_step(spec: Dict[str, Any], seed: int = SEED) -> TransformerStep:
    """The step graph wrapper around a random-weight transformer; the last block is the localization block."""
    model = randomize(Transformer2DModel(transformer_config(spec)), seed)
    return TransformerStep(model, [model.block_count - 1]).eval()


def step_inputs(step: TransformerStep, vq_grid: Tuple[int, int], text_length: int,
                seed: int = SEED) -> Dict[str, np.ndarray]:
    """Inputs of a mid-edit step: half the tokens masked, step 6 of 12 ("step-index"), guidance 6."""
    config = step.transformer.config
    rng = np.random.default_rng(seed + 100)
    height, width = vq_grid
    ref_tokens = rng.integers(0, config.codebook_size, (1, height, width), dtype=np.int64)
    tokens = np.where(rng.random((1, height, width)) < 0.5, config.mask_token_id,
                      rng.integers(0, config.codebook_size, (1, height, width))).astype(np.int64)
    return {
        "tokens": tokens,
        "ref_tokens": ref_tokens,
        "context": rng.standard_normal((2, text_length, config.joint_attention_dim)).astype(np.float32),
        "pooled": rng.standard_normal((2, config.pooled_projection_dim)).astype(np.float32),
        "micro_conds": np.array(MICRO_CONDS, dtype=np.float32),
        "timestep": np.array([6.0], dtype=np.float32),
        "log_gamma": np.array(np.log(GAMMA), dtype=np.float32),
        "guidance_scale": np.array(GUIDANCE, dtype=np.float32),
        "uniform": rng.random((1, height * width)).astype(np.float32),
    }


def write_tensors(folder: Path, prefix: str, tensors: Dict[str, np.ndarray]) -> Dict[str, Any]:
    """Write each tensor as raw little-endian bytes ``prefix.NAME.bin``; return the index (dtype, shape, file)."""
    index = {}
    for name, value in tensors.items():
        file = f"{prefix}.{name}.bin"
        value = np.ascontiguousarray(value)
        (folder / file).write_bytes(value.astype(value.dtype.newbyteorder("<")).tobytes())
        index[name] = {"dtype": str(value.dtype), "shape": list(value.shape), "file": file}
    return index


def read_tensors(folder: Path, index: Dict[str, Any]) -> Dict[str, np.ndarray]:
    """The tensors of an index written by ``write_tensors``."""
    return {name: np.frombuffer((folder / entry["file"]).read_bytes(), dtype=DTYPES[entry["dtype"]])
            .reshape(entry["shape"]).copy() for name, entry in index.items()}


def load_meta(folder: Path) -> Dict[str, Any]:
    """``meta.json`` of an export folder (config, inputs, torch outputs)."""
    return json.loads((folder / "meta.json").read_text())


def torch_inputs(inputs: Dict[str, np.ndarray]) -> Tuple[torch.Tensor, ...]:
    """The step inputs as tensors, in graph input order."""
    return tuple(torch.from_numpy(inputs[name]) for name in STEP_INPUTS)
