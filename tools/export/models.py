"""Build the torch modules of a package: from training checkpoints, or with random weights (fixtures).

A ``ModelBundle`` is everything ``package.export_package`` needs besides the package identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import torch

from tools.convert.report import load_strict, module_shapes
from tools.convert.synthetic import random_state
from tools.editmgt.configs import transformer_config, vq_config
from tools.editmgt.text_encoder import TextEncoder, TextEncoderConfig
from tools.editmgt.tokenizer import PAD_ID, WordTokenizer
from tools.editmgt.transformer import Transformer2DModel
from tools.editmgt.vq import VQModel

from .package import PackageSpec, TextComponent


@dataclass
class ModelBundle:
    """Modules plus the conventions they were trained with."""

    transformer: Transformer2DModel
    vq: VQModel
    text: List[TextComponent]
    micro_conds: Sequence[float]
    timestep: str
    localization_blocks: Sequence[int]
    text_length: int
    pad_token_id: int = PAD_ID

    def spec(self, model_id: str, version: str, source: str, resolution: Optional[int] = None,
             defaults: Optional[Dict[str, Any]] = None) -> PackageSpec:
        """The package spec; the resolution defaults to the micro-conditioning width (as upstream sets it)."""
        spec = PackageSpec(model_id=model_id, version=version, source=source,
                           resolution=resolution or int(self.micro_conds[0]), timestep=self.timestep,
                           micro_conds=list(self.micro_conds), localization_blocks=list(self.localization_blocks),
                           text_length=self.text_length, pad_token_id=self.pad_token_id)
        if defaults:
            spec.defaults.update(defaults)
        return spec


def randomize(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Give every tensor random, non-trivial values (norm scales near 1, small biases, scaled weights)."""
    load_strict(module, random_state(module_shapes(module), seed), type(module).__name__)
    return module.eval()


def text_component(encoder: TextEncoder, tokenizer_json: Path, name: str = "text_encoder") -> TextComponent:
    """The tiny model's single text encoder, serving both the context and the pooled features."""
    config = encoder.config
    return TextComponent(name=name, role="both", encoder=encoder.eval(), tokenizer_json=Path(tokenizer_json),
                         context_dim=config.width, pooled_dim=config.pooled_dim, vocab_size=config.vocab_size)


def _state(checkpoint: Dict[str, Any], key: str) -> Dict[str, Any]:
    return {k: v.detach().cpu().float().numpy() if v.is_floating_point() else v.cpu().numpy()
            for k, v in checkpoint[key].items()}


def from_training_checkpoints(checkpoint: Path, vq_checkpoint: Optional[Path] = None,
                              tokenizer_json: Optional[Path] = None, config: Optional[str] = None) -> ModelBundle:
    """Load the tiny model written by tools/train, strictly.

    ``checkpoint`` is either a bundle folder of ``tools/train/bundle.py`` (``model.pt``, ``vq.pt``,
    ``tokenizer.json``) or a transformer ``final.pt`` (then ``vq_checkpoint`` is the VQ run's
    ``final.pt``; the tokenizer defaults to the ``tokenizer.json`` beside the checkpoint). The transformer
    checkpoint carries its ``spec`` (configs, micro_conds, timestep convention, localization blocks);
    ``config`` names the base transformer config when the spec does not.
    """
    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        vq_checkpoint = vq_checkpoint or checkpoint / "vq.pt"
        tokenizer_json = tokenizer_json or checkpoint / "tokenizer.json"
        checkpoint = checkpoint / "model.pt"
    if vq_checkpoint is None:
        raise ValueError("a transformer checkpoint file needs --vq-checkpoint (or pass a bundle folder)")
    state = torch.load(checkpoint, map_location="cpu")
    spec = state.get("spec", {})
    transformer = Transformer2DModel(transformer_config(spec.get("transformer_config", config or "tiny")))
    load_strict(transformer, _state(state, "transformer"), f"transformer ({checkpoint})")
    text_config = TextEncoderConfig(**spec["text_config"])
    encoder = TextEncoder(text_config)
    load_strict(encoder, _state(state, "text_encoder"), f"text encoder ({checkpoint})")
    vq_state = torch.load(vq_checkpoint, map_location="cpu")
    vq = VQModel(vq_config(vq_state["vq_config"]))
    load_strict(vq, _state(vq_state, "model"), f"VQ ({vq_checkpoint})")
    tokenizer_json = tokenizer_json or checkpoint.parent / "tokenizer.json"
    return ModelBundle(transformer.eval(), vq.eval(), [text_component(encoder, tokenizer_json)],
                       micro_conds=spec["micro_conds"], timestep=spec["timestep"],
                       localization_blocks=spec["localization_blocks"], text_length=text_config.length)


def random_bundle(transformer_spec: Any, vq_spec: Any, text_config: TextEncoderConfig, words: Sequence[str],
                  tokenizer_dir: Path, micro_conds: Sequence[float], timestep: str,
                  localization_blocks: Sequence[int], seed: int) -> ModelBundle:
    """Modules with random weights from named or dict configs, and a word tokenizer saved in tokenizer_dir."""
    transformer = randomize(Transformer2DModel(transformer_config(transformer_spec)), seed)
    vq = randomize(VQModel(vq_config(vq_spec)), seed + 1)
    tokenizer = WordTokenizer(words, text_config.length)
    if tokenizer.vocab_size != text_config.vocab_size:
        raise ValueError(f"text vocab_size {text_config.vocab_size} != tokenizer's {tokenizer.vocab_size}")
    tokenizer_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(tokenizer_dir / "tokenizer.json")
    encoder = randomize(TextEncoder(text_config), seed + 2)
    return ModelBundle(transformer, vq, [text_component(encoder, tokenizer_dir / "tokenizer.json")],
                       micro_conds=micro_conds, timestep=timestep, localization_blocks=localization_blocks,
                       text_length=text_config.length)
