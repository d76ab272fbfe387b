"""Golden for the TS pipeline's parity with the torch reference sampler (tools/editmgt/sampling.py).

    /usr/bin/python3 -m tools.parity.sampler_parity [--out tests/fixtures/sampler-parity]

Rebuilds the torch modules of the random test package (tests/fixtures/tiny-random, same seed and configs
as tools/export/fixture.py, checked against its committed step goldens), then runs whole edits in torch:
tokenizer -> text encoder -> VQ encoder -> ``sample`` with ``TorchStep``, the uniforms and Gumbel uniforms
injected (drawn from the case's seed with the xoshiro128** streams of src/sampler/rng.ts). It records, per
case, what the TS pipeline must reproduce (tests/pipeline/parity_test.ts): the text ids, the source tokens,
for every step the tokens fed and the injected draws, the final tokens, and the positions whose outcome is
fragile (a difference in the last float bits could flip it):

* draw: the inverse-CDF threshold lies within ``goldens.SAMPLING_TIE_MARGIN`` of a CDF boundary;
* hold: the map S_L lies within ``HOLD_MARGIN`` of lambda;
* re-mask: the confidence lies within ``CUT_MARGIN`` of the cut and another token's does too;
* VQ encode: the two nearest codes are within ``goldens.ARGMIN_TIE_MARGIN`` (``refNearTie``).

Output: ``cases.json`` (uniforms as base64 float32 little-endian) and the source images as PNG.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
from PIL import Image

from tools.editmgt.localization import localization_map
from tools.editmgt.rng import CATEGORICAL_STREAM, GUMBEL_STREAM, Xoshiro128
from tools.editmgt.sampling import (
    TorchStep,
    gumbel,
    mask_length,
    mask_ratio,
    maskgit_step,
    sample,
    temperatures,
)
from tools.editmgt.tokenizer import WordTokenizer
from tools.export import fixture, goldens
from tools.export.graphs import TextEncoder, TransformerStep, VQEncoder
from tools.export.models import random_bundle
from tools.export.package import STEP_INPUTS
from tools.safetensors import read_safetensors

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tests" / "fixtures" / "tiny-random"
HOLD_MARGIN = 1e-4
CUT_MARGIN = 1e-4

INSTRUCTION = "make the red circle blue"
CASES = [
    {"name": "all-rows", "instruction": INSTRUCTION, "negativePrompt": "", "image": "disk.png",
     "options": {"seed": 1, "steps": 8, "guidance": 2.0, "gamma": 1.1, "lambda": 0, "rows": "all",
                 "temperature": [2, 0], "schedule": "cosine"}},
    # Keyword rows: "make" is an edit verb and "the" a stop word, so red/circle/blue (positions 2-4) remain.
    {"name": "keyword-hold", "instruction": INSTRUCTION, "negativePrompt": "", "image": "disk.png",
     "keywords": ["red", "circle", "blue"],
     "options": {"seed": 7, "steps": 8, "guidance": 2.0, "gamma": 1.1, "lambda": 0.35, "rows": "keywords",
                 "temperature": [2, 0], "schedule": "cosine"}},
    {"name": "inpaint", "instruction": "remove the red circle", "negativePrompt": "green square",
     "image": "disk.png", "mask": {"rows": [4, 12], "columns": [2, 10]},
     "options": {"seed": 3, "steps": 8, "guidance": 3.0, "gamma": 1.5, "lambda": 0, "rows": "all",
                 "temperature": [2, 0], "schedule": "cosine"}},
    {"name": "linear-hold", "instruction": "add a green triangle", "negativePrompt": "", "image": "stripes.png",
     "options": {"seed": 11, "steps": 12, "guidance": 1.5, "gamma": 1.0, "lambda": 0.2, "rows": "all",
                 "temperature": [3, 0.5], "schedule": "linear"}},
]


def load_bundle(tokenizer_dir: Path):
    """The torch modules of tests/fixtures/tiny-random, rebuilt from the exporter's seed and configs."""
    spec = fixture.FIXTURE
    bundle = random_bundle(spec["transformer"], spec["vq"], spec["text"], fixture.WORDS, tokenizer_dir,
                           spec["micro_conds"], spec["timestep"], spec["localization_blocks"], fixture.SEED)
    check_against_package(bundle, tokenizer_dir)
    return bundle


def check_against_package(bundle, tokenizer_dir: Path) -> None:
    """Fail unless the rebuilt modules are the committed package's (tokenizer and step goldens agree)."""
    if json.loads((tokenizer_dir / "tokenizer.json").read_text()) != json.loads(
            (PACKAGE / "tokenizer.json").read_text()):
        raise AssertionError("rebuilt tokenizer differs from tests/fixtures/tiny-random/tokenizer.json")
    tensors = read_safetensors(ROOT / "tests" / "fixtures" / "goldens" / "transformer.safetensors")
    step = TransformerStep(bundle.transformer, bundle.localization_blocks).eval()
    cases = sorted({key.split("/")[0] for key in tensors})
    for case in cases:
        inputs = {name: tensors[f"{case}/inputs/{name}"] for name in STEP_INPUTS}
        outputs = goldens.run(step, inputs)
        expected = tensors[f"{case}/outputs/ref_logprob"]
        if not np.allclose(outputs["ref_logprob"], expected, atol=1e-5):
            raise AssertionError(f"rebuilt transformer disagrees with the committed golden {case}")


def source_image(name: str, size: int) -> np.ndarray:
    """A 64x64 RGB test picture: a red disk on a gradient, or coloured stripes."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    if name == "disk.png":
        image = np.stack([np.full_like(x, 40), 200 * x / size, np.full_like(x, 200)], -1)
        image[(x - 0.4 * size) ** 2 + (y - 0.55 * size) ** 2 <= (0.25 * size) ** 2] = (220, 40, 40)
    else:
        image = np.stack([np.where((x // 8) % 2 == 0, 230, 30), 120 + 100 * np.sin(y / 5), 90 + 0 * x], -1)
    return np.round(image).astype(np.uint8)


def draws(seed: int, steps: int, n: int):
    """The injected randomness: per step ``n`` categorical and ``n`` Gumbel uniforms (src/sampler/rng.ts)."""
    categorical = Xoshiro128.from_seed(seed, CATEGORICAL_STREAM)
    gumbel_stream = Xoshiro128.from_seed(seed, GUMBEL_STREAM)
    pairs = [(categorical.uniforms(n), gumbel_stream.uniforms(n)) for _ in range(steps)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


class RecordingStep:
    """A ``TorchStep`` that keeps every call's inputs, outputs and CFG logits [2, n, K]."""

    def __init__(self, step: TorchStep):
        self.step = step
        self.calls: List[Dict[str, object]] = []

    def __call__(self, tokens, ref_tokens, timestep, uniform):
        output = self.step(tokens, ref_tokens, timestep, uniform)
        inner = self.step
        with torch.no_grad():
            batch = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))[None].expand(2, -1, -1)
                     for a in (tokens, ref_tokens)]
            logits = inner.model(*batch, inner.context, inner.pooled, inner.micro_conds,
                                 torch.tensor([timestep], dtype=torch.float32), inner.log_gamma)
        self.calls.append({"tokens": tokens.reshape(-1).copy(), "uniform": uniform, "output": output,
                           "logits": logits.flatten(2).transpose(1, 2).numpy()})
        return output


def fragile_positions(call, ref_flat, mask_id, case_options, step_index, steps, n, starting_ratio,
                      gumbel_uniform, attention_grid, token_grid, rows) -> List[int]:
    """Positions whose decision at this step could flip with last-bit differences (see module doc)."""
    tokens, output = call["tokens"], call["output"]
    masked = tokens == mask_id
    fragile = goldens.sampling_near_ties(call["logits"], case_options["guidance"], call["uniform"])["near_tie"]
    fragile = fragile & masked
    lam = case_options["lambda"]
    held = np.zeros(n, bool)
    if lam > 0:
        _, token_map = localization_map(output.text_attention, attention_grid, token_grid, rows)
        token_map = token_map.reshape(-1)
        fragile |= masked & (np.abs(token_map - lam) < HOLD_MARGIN)
        held = masked & (token_map < lam)
    if step_index < steps - 1:
        temperature = temperatures(tuple(case_options["temperature"]), steps)[step_index]
        logprob = np.where(held, output.ref_logprob, output.sampled_logprob).astype(np.float64)
        confidence = np.where(masked, logprob + temperature * gumbel(gumbel_uniform), np.inf)
        length = mask_length(n, starting_ratio, mask_ratio(case_options["schedule"], step_index, steps),
                             int(masked.sum()))
        cut = np.sort(confidence)[length]
        near = np.abs(confidence - cut) < CUT_MARGIN * max(1.0, abs(cut))
        if near.sum() > 1:
            fragile |= near
    return [int(j) for j in np.flatnonzero(fragile)]


def run_case(bundle, tokenizer: WordTokenizer, case, out: Path) -> Dict[str, object]:
    """One whole torch edit and everything the TS test compares."""
    options = case["options"]
    config = bundle.transformer.config
    mask_id = config.mask_token_id
    resolution = int(bundle.micro_conds[0])
    image = source_image(case["image"], resolution)
    Image.fromarray(image, "RGB").save(out / case["image"])

    pixels = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
    encoder = VQEncoder(bundle.vq).eval()
    with torch.no_grad():
        ref_tokens = encoder(pixels)[0].numpy()
    ref_near_tie = goldens.argmin_near_ties(encoder, pixels.numpy())[0]
    token_grid = ref_tokens.shape
    n = ref_tokens.size

    negative = tokenizer.encode(case["negativePrompt"])
    instruction = tokenizer.encode(case["instruction"])
    with torch.no_grad():
        context, pooled = TextEncoder(bundle.text[0].encoder).eval()(
            torch.tensor([negative.ids, instruction.ids], dtype=torch.int64))
    rows = "all"
    if options["rows"] == "keywords":
        rows = [i for i, token in enumerate(instruction.tokens) if token in case["keywords"]]

    step = RecordingStep(TorchStep(bundle.transformer, context, pooled,
                                   torch.tensor(bundle.micro_conds, dtype=torch.float32),
                                   math.log(options["gamma"]), options["guidance"], bundle.localization_blocks))
    user_mask = None
    if "mask" in case:
        user_mask = np.zeros(token_grid, np.uint8)
        (r0, r1), (c0, c1) = case["mask"]["rows"], case["mask"]["columns"]
        user_mask[r0:r1, c0:c1] = 1
    attention_grid = (token_grid[0] // 2, token_grid[1] // 2)
    uniforms, gumbel_uniforms = draws(options["seed"], options["steps"], n)
    result = sample(step, ref_tokens, mask_id, steps=options["steps"], temperature=tuple(options["temperature"]),
                    schedule=options["schedule"], timestep_convention=bundle.timestep, lam=options["lambda"],
                    attention_grid=attention_grid, rows=rows, user_mask=user_mask,
                    uniforms=(uniforms, gumbel_uniforms))

    ref_flat = ref_tokens.reshape(-1)
    starting_ratio = float((step.calls[0]["tokens"] == mask_id).sum()) / n
    steps = []
    for index, call in enumerate(step.calls):
        fragile = fragile_positions(call, ref_flat, mask_id, options, index, options["steps"], n, starting_ratio,
                                    gumbel_uniforms[index], attention_grid, token_grid, rows)
        steps.append({"tokens": call["tokens"].tolist(), "uniform": b64(call["uniform"]),
                      "gumbelUniform": b64(gumbel_uniforms[index]), "fragile": fragile})
    check_replay(step.calls, result.tokens.reshape(-1), ref_flat, mask_id, options, gumbel_uniforms,
                 attention_grid, token_grid, rows, starting_ratio)
    record = {key: case[key] for key in ("name", "instruction", "negativePrompt", "image", "options")}
    if user_mask is not None:
        record["mask"] = user_mask.reshape(-1).tolist()
    record.update({
        "inputIds": {"negative": negative.ids, "instruction": instruction.ids},
        "rows": rows,
        "refTokens": ref_flat.tolist(),
        "refNearTie": [int(j) for j in np.flatnonzero(ref_near_tie.reshape(-1))],
        "steps": steps,
        "tokens": result.tokens.reshape(-1).tolist(),
    })
    return record


def check_replay(calls, final, ref_flat, mask_id, options, gumbel_uniforms, attention_grid, token_grid, rows,
                 starting_ratio) -> None:
    """The recorded calls replayed with ``maskgit_step`` give the next call's tokens and the result."""
    n = ref_flat.size
    steps = options["steps"]
    for index, call in enumerate(calls):
        tokens = call["tokens"]
        hold_map = None
        if options["lambda"] > 0:
            hold_map = localization_map(call["output"].text_attention, attention_grid, token_grid, rows)[1]
            hold_map = hold_map.reshape(-1)
        length = mask_length(n, starting_ratio, mask_ratio(options["schedule"], index, steps),
                             int((tokens == mask_id).sum()))
        temperature = temperatures(tuple(options["temperature"]), steps)[index]
        after, _, _ = maskgit_step(tokens, ref_flat, call["output"], mask_id, index == steps - 1, length,
                                   temperature, gumbel_uniforms[index], hold_map, options["lambda"])
        expected = calls[index + 1]["tokens"] if index + 1 < steps else final
        if not np.array_equal(after, expected):
            raise AssertionError(f"replay of step {index} disagrees with the sampler")


def b64(values: np.ndarray) -> str:
    """float32 little-endian bytes, base64."""
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "sampler-parity")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        bundle = load_bundle(Path(folder))
        tokenizer = WordTokenizer.load(Path(folder) / "tokenizer.json", bundle.text_length)
        cases = [run_case(bundle, tokenizer, case, args.out) for case in CASES]
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    transformer_files = next(c for c in manifest["components"] if c["kind"] == "transformer")["files"]
    document = {
        "source": "tools/parity/sampler_parity.py (torch reference sampler on the tiny-random modules)",
        "package": {"id": manifest["id"], "transformerSha256": [f["sha256"] for f in transformer_files]},
        "margins": {"draw": goldens.SAMPLING_TIE_MARGIN, "hold": HOLD_MARGIN, "cut": CUT_MARGIN,
                    "argmin": goldens.ARGMIN_TIE_MARGIN},
        "cases": cases,
    }
    (args.out / "cases.json").write_text(json.dumps(document, separators=(",", ":")) + "\n")
    for case in cases:
        fragile = sum(len(s["fragile"]) for s in case["steps"])
        print(f"{case['name']}: {len(case['steps'])} steps, fragile positions {fragile}, "
              f"VQ near ties {len(case['refNearTie'])}")
    digest = hashlib.sha256((args.out / "cases.json").read_bytes()).hexdigest()[:12]
    print(f"wrote {args.out / 'cases.json'} ({digest})")


if __name__ == "__main__":
    main()
