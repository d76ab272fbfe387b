"""Write tests/fixtures/text-encoders: ONNX graphs of the reference's tiny text encoders and its goldens.

    /usr/bin/python3 -m tools.export.text_fixture [--reference DIR] [--out tests/fixtures/text-encoders]

The reference is shared/reference/text-encoders-parity (its README describes the cases): tiny Gemma-2 and
CLIP configs with seeded random weights, and the outputs of the unmodified transformers code. For each
case below this writes ``<case>.onnx``, the graph our exporter makes of that case's model
(``GemmaContextGraph`` or ``ClipPooledGraph``), and ``<case>.safetensors`` with the case's
``input_ids`` and the reference's float32 output, copied unchanged from the npz files:

* ``<case>/inputs/input_ids`` int64 [B,T];
* ``<case>/outputs/context`` (Gemma ``hidden_states_m2``) or ``<case>/outputs/pooled`` (CLIP ``text_embeds``);
* ``__metadata__``: ``graph``, ``cases``, ``tolerances`` (JSON ``{output: {"atol", "rtol"}}``, the
  reference README's section 8 figures) and ``source`` (JSON: the npz files, their sha256 and the key).

tests/model/text_encoders_test.ts runs every graph on its inputs with onnxruntime and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import torch
from torch import nn

from tools.editmgt.clip_text import CLIPTextConfig, CLIPTextModelWithProjection
from tools.editmgt.gemma2 import Gemma2Config, Gemma2ForCausalLM
from tools.safetensors import write_safetensors

from .text_graphs import ClipPooledGraph, GemmaContextGraph, export_text_encoder

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = Path(os.environ.get("EDITMGT_TEXT_PARITY_DIR",
                                    ROOT.parent / "shared" / "reference" / "text-encoders-parity"))

# case -> reference output key, graph output, max abs difference allowed (reference README section 8)
FIXTURE_CASES = {
    "gemma2_upstream": ("hidden_states_m2", "context", 5e-5),
    "gemma2_qpas24": ("hidden_states_m2", "context", 5e-5),
    "gemma2_softcap": ("hidden_states_m2", "context", 2e-4),
    "clip_legacy_pooling_probe": ("text_embeds", "pooled", 5e-6),
    "clip_eos98_pooling_probe": ("text_embeds", "pooled", 5e-6),
}
GRAPHS = {"gemma2": GemmaContextGraph, "clip_text": ClipPooledGraph}
FIXTURE_README = """# Text-encoder fixture

Written by `/usr/bin/python3 -m tools.export.text_fixture` (tools/export/text_fixture.py); do not edit.

Each `<case>.onnx` is the graph tools/export/text_graphs.py exports from the tiny model of that case in
shared/reference/text-encoders-parity (config from `cases.json`, weights from its `.weights.npz`):
Gemma-2 cases give `GemmaContextGraph` (`input_ids` -> `context` = `hidden_states[-2]`), CLIP cases
`ClipPooledGraph` (`input_ids` -> `pooled` = `text_embeds`).

Each `<case>.safetensors` holds `<case>/inputs/input_ids` and the reference's float32 output
(`<case>/outputs/context` or `<case>/outputs/pooled`), copied unchanged from the reference npz files;
its metadata names the graph, the tolerance (max abs) and the source files with their sha256.

tests/model/text_encoders_test.ts checks every graph against its golden with onnxruntime.
"""


def reference_cases(reference: Path = REFERENCE_DIR) -> Dict[str, Dict[str, Any]]:
    """The ``cases`` of the reference's cases.json, by name."""
    return json.loads((Path(reference) / "cases.json").read_text())["cases"]


def reference_model(case: Dict[str, Any], reference: Path = REFERENCE_DIR, dtype=torch.float32) -> nn.Module:
    """The case's model (config from its ``config_to_dict``) with its npz weights loaded strictly, in eval mode."""
    if case["family"] == "gemma2":
        model = Gemma2ForCausalLM(Gemma2Config.from_hf(case["config_to_dict"]))
    else:
        model = CLIPTextModelWithProjection(CLIPTextConfig.from_hf(case["config_to_dict"]))
    weights = np.load(Path(reference) / case["weights_file"])
    model.load_state_dict({key: torch.from_numpy(weights[key]) for key in weights.files}, strict=True)
    return model.to(dtype).eval()


def reference_arrays(case: Dict[str, Any], reference: Path = REFERENCE_DIR,
                     precision: str = "fp32") -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """The case's inputs and its reference outputs at ``precision`` ("fp32" or "fp64"), as numpy arrays."""
    inputs = np.load(Path(reference) / case["inputs_file"])
    outputs = np.load(Path(reference) / case["outputs_files"][precision])
    return dict(inputs.items()), dict(outputs.items())


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_case(name: str, case: Dict[str, Any], reference: Path, out: Path) -> Dict[str, Any]:
    """Export one case's graph and write its golden file; return what was written."""
    source_key, output, atol = FIXTURE_CASES[name]
    graph = GRAPHS[case["family"]](reference_model(case, reference))
    inputs, outputs = reference_arrays(case, reference)
    result = export_text_encoder(graph, torch.from_numpy(inputs["input_ids"]), out, f"{name}.onnx", graph.ROLE)
    source = {
        "inputs": {"file": case["inputs_file"], "sha256": sha256(Path(reference) / case["inputs_file"]),
                   "key": "input_ids"},
        "outputs": {"file": case["outputs_files"]["fp32"],
                    "sha256": sha256(Path(reference) / case["outputs_files"]["fp32"]), "key": source_key},
    }
    metadata = {"graph": f"{name}.onnx", "cases": name,
                "tolerances": json.dumps({output: {"atol": atol, "rtol": 0.0}}),
                "source": json.dumps(source, sort_keys=True)}
    tensors = {f"{name}/inputs/input_ids": inputs["input_ids"], f"{name}/outputs/{output}": outputs[source_key]}
    write_safetensors(out / f"{name}.safetensors", tensors, metadata)
    return {"case": name, "files": result.files + [f"{name}.safetensors"], "weight_bytes": result.weight_bytes}


def build(reference: Path, out: Path) -> list:
    """Rewrite ``out`` with every fixture case; return one report entry per case."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cases = reference_cases(reference)
    report = [write_case(name, cases[name], reference, out) for name in FIXTURE_CASES]
    (out / "README.md").write_text(FIXTURE_README)
    return report


def main() -> None:
    """Command-line entry point (see the module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, default=REFERENCE_DIR)
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "text-encoders")
    args = parser.parse_args()
    for entry in build(args.reference, args.out):
        print(f"{entry['case']:<28} {', '.join(entry['files']):<70} {entry['weight_bytes']:>9,} weight bytes")


if __name__ == "__main__":
    main()
