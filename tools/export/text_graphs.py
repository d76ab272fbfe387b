"""ONNX graphs of the real model's two text encoders (Gemma-2 context, CLIP pooled), opset 17.

=================  =====================  ========================  ===================================
graph              input                  output                    meaning
=================  =====================  ========================  ===================================
GemmaContextGraph  input_ids int64 [B,T]  context float32 [B,T,D]   Gemma-2 ``hidden_states[-2]``
ClipPooledGraph    input_ids int64 [B,T]  pooled float32 [B,P]      CLIP ``text_embeds``
=================  =====================  ========================  ===================================

The batch axis is dynamic; the sequence length is that of the example ids the graph is traced with
(256 Gemma tokens, 77 CLIP tokens for EditMGT). No attention mask is an input: upstream calls both
encoders without one. The Gemma graph holds the embedding and layers 0..L-2 only (no last layer, final
norm or LM head); the CLIP graph finds the pooled position itself, by the rule its config implies.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .onnx_io import EXTERNAL_DATA_THRESHOLD, ExportResult, export_graph
from .package import for_export


class GemmaContextGraph(nn.Module):
    """``input_ids`` int64 [B,T] -> ``context`` float32 [B,T,D], Gemma-2's ``hidden_states[-2]``."""

    OUTPUTS = ("context",)
    ROLE = "context"

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model.context_states(input_ids).float()


class ClipPooledGraph(nn.Module):
    """``input_ids`` int64 [B,77] -> ``pooled`` float32 [B,P], CLIP's ``text_embeds``."""

    OUTPUTS = ("pooled",)
    ROLE = "pooled"

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model.pooled(input_ids).float()


def export_text_encoder(graph_module: nn.Module, example_ids: torch.Tensor, out_folder: Path, file_name: str,
                        role: str, fp16: bool = False,
                        external_data_threshold: int = EXTERNAL_DATA_THRESHOLD) -> ExportResult:
    """Trace one text-encoder graph (``GemmaContextGraph`` or ``ClipPooledGraph``) into ``out_folder``.

    ``example_ids`` [B,T] fixes the sequence length; the batch axis stays dynamic. ``role`` is the
    manifest role the graph serves and must be the graph's own. ``fp16`` traces a float64 copy and
    maps it to float16, keeping the float32 steps (RMSNorm, rotary, softmax, pooling) in float32.
    Weights above ``external_data_threshold`` bytes go to ``file_name + ".data"``.
    """
    if role != graph_module.ROLE:
        raise ValueError(f"{type(graph_module).__name__} serves the {graph_module.ROLE!r} role, not {role!r}")
    output = graph_module.OUTPUTS[0]
    return export_graph(for_export(graph_module, fp16), (example_ids,), ["input_ids"], Path(out_folder), file_name,
                        fp16=fp16, external_data_threshold=external_data_threshold,
                        dynamic_axes={"input_ids": {0: "batch"}, output: {0: "batch"}},
                        doc=f"{role} text encoder: {type(graph_module).__doc__}")
