"""Loaders for the upstream parity goldens in shared/reference/upstream-parity (see its README)."""

import json
import os
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from tools.editmgt.configs import transformer_config
from tools.editmgt.transformer import Transformer2DModel

PARITY_DIR = os.environ.get(
    "EDITMGT_PARITY_DIR",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference", "upstream-parity"),
)

CASE_GAMMA: Dict[str, Optional[float]] = {
    "a_gamma1": None,
    "b_gamma1p1": 1.1,
    "c_cfg_batch2": 1.1,
    "d_t2i_noref": None,
    "e_gamma2": 2.0,
}


def parity_path(name: str) -> str:
    """Path of a file in the parity folder."""
    return os.path.join(PARITY_DIR, name)


def tiny_weights() -> Dict[str, torch.Tensor]:
    """The randomized upstream tiny state_dict."""
    weights = np.load(parity_path("tiny_weights.npz"))
    return {key: torch.from_numpy(weights[key]) for key in weights.files}


def parity_model(dtype: torch.dtype = torch.float32) -> Transformer2DModel:
    """The parity-tiny model with the golden weights loaded strictly."""
    model = Transformer2DModel(transformer_config("parity-tiny"))
    model.load_state_dict(tiny_weights(), strict=True)
    return model.to(dtype).eval()


def case_arrays(case: str) -> np.lib.npyio.NpzFile:
    """All arrays of one case file."""
    return np.load(parity_path(f"tiny_{case}.npz"))


def case_call(case: str, precision: str) -> Tuple[tuple, object]:
    """(positional forward args, log_gamma) of a case in 'fp32' or 'fp64', as the pipeline called upstream.

    The bias is log of the float32 gamma, computed in float32, as upstream's reference_strength_factor.
    """
    arrays = case_arrays(case)
    dtype = torch.float32 if precision == "fp32" else torch.float64

    def get(name: str) -> torch.Tensor:
        return torch.from_numpy(arrays[f"{precision}/input/{name}"])

    ref_key = f"{precision}/input/reference_image_hidden_states"
    ref_tokens = get("reference_image_hidden_states").long() if ref_key in arrays.files else None
    gamma = CASE_GAMMA[case]
    log_gamma = 0.0 if gamma is None else torch.log(torch.tensor(gamma, dtype=torch.float32)).to(dtype)
    args = (
        get("hidden_states"),
        ref_tokens,
        get("encoder_hidden_states"),
        get("pooled_projections"),
        get("micro_conds"),
        get("timestep"),
    )
    return args, log_gamma


def real_config_listing() -> dict:
    """The upstream real-config state_dict listing."""
    with open(parity_path("real_config_state_dict.json")) as handle:
        return json.load(handle)
