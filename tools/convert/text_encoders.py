"""Load the released snapshot's two text encoders strictly, with their tokenizers.

``text_encoder/`` holds the CLIP text tower with projection (its ``text_embeds`` is the transformer's
``pooled`` input), ``tokenizer/`` its tokenizer; ``llm_encoder/`` holds Gemma-2 and its tokenizer (its
``hidden_states[-2]`` is the ``context`` input). Both are transformers folders: ``config.json`` and
``model[.variant].safetensors`` or a sharded ``model.safetensors.index.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from tools.editmgt.clip_text import CLIPTextConfig, CLIPTextModelWithProjection
from tools.editmgt.gemma2 import Gemma2Config, Gemma2ForCausalLM
from tools.export.package import TextComponent
from tools.export.text_graphs import ClipPooledGraph, GemmaContextGraph

from .checkpoint import CheckpointError, read_component, source_label
from .report import KeyReport, load_strict
from .tokenizers import ensure_tokenizer_json

CLIP_FOLDER, CLIP_TOKENIZER_FOLDER, GEMMA_FOLDER = "text_encoder", "tokenizer", "llm_encoder"
HF_STEM = "model"


@dataclass
class TextEncoders:
    """Both encoders as package text components, their key reports, the text layout for the manifest and
    what was done to the tokenizers (``notes``: how a missing ``tokenizer.json`` was written)."""

    components: list
    reports: Dict[str, KeyReport]
    text_layout: Dict[str, object]
    context_length: int
    pad_token_id: int
    notes: list


def load_text_encoders(root: Path, work: Path, variant: Optional[str] = None, log=print) -> TextEncoders:
    """Strictly load CLIP (pooled) and Gemma-2 (context) from a snapshot; tokenizers made ready to ship.

    A tokenizer folder without ``tokenizer.json`` gets one written into ``work`` (the package being
    written), never into the snapshot.
    """
    root = Path(root)
    missing = [name for name in (CLIP_FOLDER, CLIP_TOKENIZER_FOLDER, GEMMA_FOLDER) if not (root / name).is_dir()]
    if missing:
        raise CheckpointError(f"{root}: missing folder(s) {', '.join(missing)}: an EditMGT snapshot has the CLIP "
                              f"text encoder in {CLIP_FOLDER}/, its tokenizer in {CLIP_TOKENIZER_FOLDER}/ and "
                              f"Gemma-2 with its tokenizer in {GEMMA_FOLDER}/")
    clip_tokenizer, clip_how, clip_layout = ensure_tokenizer_json(root / CLIP_TOKENIZER_FOLDER, "clip",
                                                                   Path(work) / "clip.tokenizer.json")
    gemma_tokenizer, gemma_how, gemma_layout = ensure_tokenizer_json(root / GEMMA_FOLDER, "gemma",
                                                                      Path(work) / "gemma.tokenizer.json")
    notes = [how for how in (clip_how, gemma_how) if how]

    log(f"loading the CLIP text encoder ({root / CLIP_FOLDER})")
    config, state = read_component(root / CLIP_FOLDER, variant, HF_STEM)
    clip = CLIPTextModelWithProjection(CLIPTextConfig.from_hf(config))
    reports = {"clip": load_strict(clip, state, source_label("CLIP text encoder", root / CLIP_FOLDER, HF_STEM,
                                                             variant))}
    del state
    log(f"loading Gemma-2 ({root / GEMMA_FOLDER})")
    config, state = read_component(root / GEMMA_FOLDER, variant, HF_STEM)
    gemma = Gemma2ForCausalLM(Gemma2Config.from_hf(config))
    reports["gemma"] = load_strict(gemma, state, source_label("Gemma-2", root / GEMMA_FOLDER, HF_STEM, variant))
    del state

    components = [
        TextComponent(name="gemma", role="context", encoder=GemmaContextGraph(gemma.eval()),
                      tokenizer_json=gemma_tokenizer, context_dim=gemma.config.hidden_size, pooled_dim=0,
                      vocab_size=gemma.config.vocab_size, length=gemma_layout.max_length),
        TextComponent(name="clip", role="pooled", encoder=ClipPooledGraph(clip.eval()),
                      tokenizer_json=clip_tokenizer, context_dim=0, pooled_dim=clip.config.projection_dim,
                      vocab_size=clip.config.vocab_size, length=clip_layout.max_length),
    ]
    text_layout = {"padSide": gemma_layout.pad_side, "pooledLength": clip_layout.max_length,
                   "pooledPadTokenId": clip_layout.pad_token_id, "pooledPadSide": clip_layout.pad_side}
    return TextEncoders(components, reports, text_layout, gemma_layout.max_length, gemma_layout.pad_token_id,
                        notes)
