"""Export a reduced real-width graph in every weight variant, with inputs, for the error figures.

    /usr/bin/python3 -m bench.variants.export transformer [--out /tmp/editmgt-variants]
    /usr/bin/python3 -m bench.variants.export gemma|clip [--out /tmp/editmgt-variants]

Writes ``OUT/COMPONENT/``: ``NAME.onnx`` (fp32), ``NAME.fp16.onnx`` (traced as tools/export/fp16.py
does), ``NAME.int8.onnx`` and ``NAME.q4.onnx`` (tools/export/quantize.py on the fp32 file), the inputs
as raw ``inputs.*.bin`` and ``meta.json`` (files, bytes, the rewrite reports); ``errors.ts`` measures
them and ``sizes.py`` extrapolates their bytes to the real model. Random weights; the files are
hundreds of MB: never commit them.

- ``transformer``: the ``editmgt-1024`` step graph (width 1024, 64x64 tokens, 256 text rows) with 1
  double and 1 single block (bench/real_size/common.py). Its MLM head stays float32 (``TRANSFORMER_KEEP``).
- ``gemma``: Gemma-2-2B width (2304) with 2 layers, ``context_states`` as the output; vocab reduced.
- ``clip``: CLIP-H text width (1024) with 2 layers, ``pooled`` as the output; vocab reduced.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable, Dict, Sequence, Tuple

import numpy as np
import torch

from bench.real_size.common import VQ_GRID, TEXT_LENGTH, build_step, config_spec, step_inputs, torch_inputs, \
    write_tensors
from tools.export.onnx_io import export_graph
from tools.export.package import STEP_INPUTS, for_export
from tools.export.quantize import QUANTIZED_DTYPES, TRANSFORMER_KEEP, QuantizeOptions, quantize_file
from tools.export.graphs import TransformerStep
from tools.export.models import randomize
from tools.export.text_graphs import ClipPooledGraph, GemmaContextGraph
from tools.convert.text_shapes import CLIP_H_TEXT_CONFIG
from tools.editmgt.clip_text import CLIPTextConfig, CLIPTextModelWithProjection
from tools.editmgt.gemma2 import Gemma2Config, Gemma2ForCausalLM

DEFAULT_OUT = Path("/tmp/editmgt-variants")
GEMMA_VOCAB, GEMMA_LENGTH = 16384, 256  # reduced vocab (the real one has 256,000 rows)
CLIP_VOCAB = 4096  # reduced vocab (the real one has 49,408 rows)


def export_variants(out: Path, name: str, wrap: Callable[[bool], torch.nn.Module], args: Tuple[torch.Tensor, ...],
                    input_names: Sequence[str], options: QuantizeOptions, dynamic_axes=None,
                    reuse: bool = False) -> Dict[str, Any]:
    """fp32 and fp16 traces of ``wrap(fp16)``, then int8 and q4 rewrites of the fp32 file; the per-variant facts.

    ``reuse`` keeps fp32/fp16 files already in ``out`` (their trace takes minutes at real width).
    """
    variants: Dict[str, Any] = {}
    for dtype, fp16 in (("fp32", False), ("fp16", True)):
        file = f"{name}.onnx" if dtype == "fp32" else f"{name}.{dtype}.onnx"
        if reuse and (out / file).exists():
            variants[dtype] = {"files": [file], "seconds": None}
            continue
        result = export_graph(wrap(fp16), args, input_names, out, file, fp16=fp16, dynamic_axes=dynamic_axes)
        variants[dtype] = {"files": result.files, "seconds": round(result.seconds, 2)}
    for dtype in QUANTIZED_DTYPES:
        files, report = quantize_file(out / f"{name}.onnx", out, f"{name}.{dtype}.onnx", dtype, options)
        variants[dtype] = {"files": files, "seconds": round(report.seconds, 2), "report": report.summary()}
    for facts in variants.values():
        facts["bytes"] = sum((out / f).stat().st_size for f in facts["files"])
    return variants


def transformer(out: Path, seed: int, reuse: bool) -> Dict[str, Any]:
    """The reduced real-width step graph and its variants (see the module doc)."""
    step = build_step(config_spec("editmgt-1024", 1, 1), seed)
    inputs = step_inputs(step, VQ_GRID, TEXT_LENGTH, seed)
    options = QuantizeOptions(keep=TRANSFORMER_KEEP)
    variants = export_variants(
        out, "transformer", lambda fp16: TransformerStep(for_export(step.transformer, fp16), step.localization_blocks),
        torch_inputs(inputs), STEP_INPUTS, options, reuse=reuse)
    return {"component": "transformer", "spec": config_spec("editmgt-1024", 1, 1),
            "parameters": sum(p.numel() for p in step.transformer.parameters()),
            "inputs": write_tensors(out, "inputs", inputs), "variants": variants, "options": _options(options)}


def _options(options: QuantizeOptions) -> Dict[str, Any]:
    return {"minElements": options.min_elements, "blockSize": options.block_size, "keep": list(options.keep)}


def _text_ids(vocab: int, length: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 200).integers(3, vocab, (2, length)).astype(np.int64)


def gemma(out: Path, seed: int, reuse: bool, vocab: int = GEMMA_VOCAB, layers: int = 2) -> Dict[str, Any]:
    """Gemma-2-2B width, ``layers`` layers in the context graph (``hidden_states[-2]``), ``vocab`` rows."""
    config = Gemma2Config(vocab_size=vocab, num_hidden_layers=layers + 1)  # the last layer is not in the graph
    model = randomize(Gemma2ForCausalLM(config), seed)
    inputs = {"input_ids": _text_ids(vocab, GEMMA_LENGTH, seed)}
    options = QuantizeOptions()
    variants = export_variants(out, "text_encoder", lambda fp16: for_export(GemmaContextGraph(model), fp16),
                               (torch.from_numpy(inputs["input_ids"]),), ["input_ids"], options,
                               dynamic_axes={"input_ids": {0: "batch"}, "context": {0: "batch"}}, reuse=reuse)
    return {"component": "gemma", "config": {"hidden_size": config.hidden_size, "vocab_size": vocab,
                                             "layers_in_graph": layers},
            "inputs": write_tensors(out, "inputs", inputs), "variants": variants, "options": _options(options)}


def clip(out: Path, seed: int, reuse: bool, vocab: int = CLIP_VOCAB, layers: int = 2) -> Dict[str, Any]:
    """CLIP-H text width (1024, 16 heads), ``layers`` layers, ``vocab`` rows; the pooled graph."""
    config = CLIPTextConfig.from_hf(dict(CLIP_H_TEXT_CONFIG, vocab_size=vocab, num_hidden_layers=layers))
    model = randomize(CLIPTextModelWithProjection(config), seed)
    ids = _text_ids(vocab, config.max_position_embeddings, seed)
    ids[:, 0] = config.bos_token_id
    ids[:, 20:] = config.eos_token_id  # the pooled row is the first end-of-text token
    inputs = {"input_ids": ids}
    options = QuantizeOptions()
    variants = export_variants(out, "text_encoder", lambda fp16: for_export(ClipPooledGraph(model), fp16),
                               (torch.from_numpy(ids),), ["input_ids"], options,
                               dynamic_axes={"input_ids": {0: "batch"}, "pooled": {0: "batch"}}, reuse=reuse)
    return {"component": "clip", "config": {"hidden_size": config.hidden_size, "vocab_size": vocab,
                                            "layers_in_graph": layers},
            "inputs": write_tensors(out, "inputs", inputs), "variants": variants, "options": _options(options)}


COMPONENTS = {"transformer": transformer, "gemma": gemma, "clip": clip}


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("component", choices=sorted(COMPONENTS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="keep fp32/fp16 graphs already in the folder")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    folder = args.out / args.component
    folder.mkdir(parents=True, exist_ok=True)
    meta = COMPONENTS[args.component](folder, args.seed, args.reuse)
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({dtype: {k: v[k] for k in ("files", "bytes", "seconds")}
                      for dtype, v in meta["variants"].items()}))


if __name__ == "__main__":
    main()
