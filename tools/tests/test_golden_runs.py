"""The torch reference sampler reproduces the TypeScript sampler's golden runs exactly.

tests/fixtures/sampler/golden_runs.json is written by tests/sampler/golden_runs.ts from src/sampler: complete
runs against a step model given by formulas (recorded in the file). Here ``tools.editmgt.sampling.sample``
runs the same model and must give the same step inputs, masked and held counts and final tokens, and the
same lambdas and localization map up to float32 rounding.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from tools.editmgt.sampling import StepOutput, sample

GOLDEN = json.loads((Path(__file__).resolve().parents[2] / "tests/fixtures/sampler/golden_runs.json").read_text())
K = GOLDEN["codebookSize"]
MASK = GOLDEN["maskTokenId"]
GRID = (GOLDEN["grid"]["height"], GOLDEN["grid"]["width"])
ATTENTION_GRID = (GOLDEN["attentionGrid"]["height"], GOLDEN["attentionGrid"]["width"])
N = GRID[0] * GRID[1]
REF_TOKENS = ((np.arange(N) * 7 + 3) % K).reshape(GRID)  # GOLDEN["refTokens"]


def formula_attention() -> np.ndarray:
    """GOLDEN["model"]["textAttention"]: [T, cells] float32."""
    rows, cells = np.meshgrid(np.arange(GOLDEN["textLength"]), np.arange(ATTENTION_GRID[0] * ATTENTION_GRID[1]),
                              indexing="ij")
    hot = np.isin(cells, GOLDEN["hot"])
    return (((rows * 5 + cells * 3) % 11) / 11 + np.where(hot, 2, 0)).astype(np.float32)


def formula_step(inputs: list):
    """The formula step model of GOLDEN["model"]; records each call's inputs as the TypeScript run does."""
    attention = formula_attention()
    j = np.arange(N)

    def step(tokens, ref_tokens, timestep, uniform):
        inputs.append({"timestep": timestep, "masked": int((tokens == MASK).sum()),
                       "uniformHead": [float(u) for u in uniform[:4]]})
        sampled = np.minimum(K - 1, np.floor(uniform.astype(np.float64) * K)).astype(np.int64)
        sampled_logprob = (-((sampled * 31 + j * 17) % 101) / 10).astype(np.float32)
        ref_logprob = (-((ref_tokens.reshape(-1) * 13 + j * 7) % 89) / 10).astype(np.float32)
        return StepOutput(sampled, sampled_logprob, ref_logprob, attention)

    return step


@pytest.mark.parametrize("golden", GOLDEN["runs"], ids=[run["name"] for run in GOLDEN["runs"]])
def test_reference_sampler_reproduces_the_typescript_golden_run(golden):
    options = golden["options"]
    user_rows = options.get("userMaskRows")
    user_mask = np.isin(np.arange(N) // GRID[1], user_rows).reshape(GRID) if user_rows else None
    temperature = options.get("temperature", [2, 0])
    inputs, reports = [], []
    result = sample(
        formula_step(inputs), REF_TOKENS, MASK,
        steps=options["steps"],
        temperature=temperature if isinstance(temperature, (int, float)) else tuple(temperature),
        schedule=options.get("schedule", "cosine"),
        timestep_convention=options.get("timestep", "step-index"),
        lam=options.get("lambda", 0),
        attention_grid=ATTENTION_GRID,
        rows=options.get("rows", "all"),
        user_mask=user_mask,
        seed=options["seed"],
        on_step=reports.append,
    )
    assert inputs == golden["inputs"]
    assert [int((report.tokens == MASK).sum()) for report in reports] == golden["masked"]
    assert [report.held for report in reports] == golden["held"]
    # an "auto" lambda is a midpoint of two map values, and the maps agree to float32 rounding (scipy's smoothing
    # against src/localize's), as the token map below does
    np.testing.assert_allclose([report.lam for report in reports], golden["lambdas"], rtol=0, atol=1e-6)
    assert result.tokens.reshape(-1).tolist() == golden["tokens"]
    np.testing.assert_allclose(result.token_map.reshape(-1), golden["tokenMap"], rtol=0, atol=1e-6)
