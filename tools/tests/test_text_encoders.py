"""Gemma-2 and CLIP text encoders against the reference goldens (shared/reference/text-encoders-parity).

Measured max abs differences against the reference (tolerances of its README section 8 in brackets):

=============================  =====================================  ================================
case                           fp32                                   fp64
=============================  =====================================  ================================
gemma2_upstream                states 4.8e-6, logits 4.2e-7 [5e-5]    0, bit-identical [1e-5]
gemma2_attention_mask (real)   states 4.8e-6, logits 4.2e-7 [5e-5]    0 (row 0; rows 1-2 NaN there)
gemma2_qpas24                  states 4.3e-6, logits 3.6e-7 [5e-5]    0, bit-identical [1e-5]
gemma2_softcap                 states 1.3e-5, logits 1.9e-5 [2e-4]    0, bit-identical [5e-5]
clip_* (3 cases)               last 7.2e-7, embeds 6.0e-8 [5e-6]      last 8.9e-16, embeds 1.1e-16
                                                                      [1e-10]
=============================  =====================================  ================================

The Gemma-2 float64 runs are bit-identical because the model keeps the reference's three float32 steps.
"""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, numpy_helper, shape_inference
from torch.overrides import TorchFunctionMode

from tools.editmgt.clip_text import CLIPTextConfig, CLIPTextModelWithProjection, pool_positions
from tools.editmgt.gemma2 import Gemma2Config, Gemma2ForCausalLM, blocked_keys
from tools.export.text_fixture import FIXTURE_CASES, REFERENCE_DIR, reference_arrays, reference_cases, \
    reference_model, sha256
from tools.export.text_graphs import ClipPooledGraph, GemmaContextGraph, export_text_encoder
from tools.safetensors import read_header, read_safetensors

ROOT = Path(__file__).resolve().parents[2]
if not (REFERENCE_DIR / "cases.json").exists():
    pytest.skip(f"text-encoder goldens not found at {REFERENCE_DIR} (EDITMGT_TEXT_PARITY_DIR)", allow_module_level=True)
CASES = reference_cases()
CLIP_CASES = sorted(name for name, case in CASES.items() if case["family"] == "clip_text")
TOLERANCES = {  # (family, precision) -> max abs; the softcap case gets its own
    ("gemma2", "fp32"): 5e-5, ("gemma2", "fp64"): 1e-5, ("clip_text", "fp32"): 5e-6, ("clip_text", "fp64"): 1e-10}
SOFTCAP_TOLERANCES = {"fp32": 2e-4, "fp64": 5e-5}
DTYPES = {"fp32": torch.float32, "fp64": torch.float64}


class MetaDevice(TorchFunctionMode):
    """Build modules on torch's 'meta' device: shapes without memory (torch 1.13 has no device context)."""

    FACTORIES = {torch.empty, torch.zeros, torch.ones}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in self.FACTORIES:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


def tolerance(name: str, precision: str) -> float:
    """Max abs difference allowed for a case (reference README section 8)."""
    return SOFTCAP_TOLERANCES[precision] if name == "gemma2_softcap" else TOLERANCES[(CASES[name]["family"], precision)]


def our_outputs(name: str, precision: str):
    """Our model's outputs for a case, as the reference names and stacks them, plus the inputs."""
    case = CASES[name]
    model = reference_model(case, dtype=DTYPES[precision])
    inputs, _ = reference_arrays(case)
    ids = torch.from_numpy(inputs["input_ids"])
    with torch.no_grad():
        if case["family"] == "gemma2":
            mask = inputs.get("attention_mask")
            output = model(ids, None if mask is None else torch.from_numpy(mask))
            arrays = {"logits": output.logits}
        else:
            output = model(ids)
            arrays = {"last_hidden_state": output.last_hidden_state, "text_embeds": output.text_embeds}
    arrays.update(hidden_states=torch.stack(output.hidden_states), hidden_states_m2=output.hidden_states[-2])
    return {key: value.numpy() for key, value in arrays.items()}, inputs


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_output_matches_the_reference(name, precision):
    ours, inputs = our_outputs(name, precision)
    _, golden = reference_arrays(CASES[name], precision=precision)
    assert set(golden) == set(ours)
    for key, expected in golden.items():
        assert ours[key].shape == expected.shape, key
        difference = np.abs(ours[key] - expected)
        if "attention_mask" in inputs:
            # README 5.3: compare real tokens only; in fp64 the reference's padded rows are NaN.
            real = inputs["attention_mask"].astype(bool)
            if precision == "fp64":
                real[1:] = False
            difference = difference[..., real, :]
            assert np.isfinite(difference).all(), key
        assert difference.max() <= tolerance(name, precision), f"{key}: {difference.max():.3g}"


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
@pytest.mark.parametrize("name", ["gemma2_upstream", "gemma2_softcap"])
def test_context_states_equal_hidden_states_minus_two(name, precision):
    model = reference_model(CASES[name], dtype=DTYPES[precision])
    ids = torch.from_numpy(reference_arrays(CASES[name])[0]["input_ids"])
    with torch.no_grad():
        assert torch.equal(model.context_states(ids), model(ids).hidden_states[-2])


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
@pytest.mark.parametrize("name", CLIP_CASES)
def test_pooled_equals_text_embeds(name, precision):
    model = reference_model(CASES[name], dtype=DTYPES[precision])
    ids = torch.from_numpy(reference_arrays(CASES[name])[0]["input_ids"])
    with torch.no_grad():
        assert torch.equal(model.pooled(ids), model(ids).text_embeds)


def test_pool_positions_follow_the_config_rule():
    ids = torch.from_numpy(reference_arrays(CASES["clip_legacy_pooling_probe"])[0]["input_ids"])
    assert pool_positions(ids, 2).tolist() == [76, 4, 21, 4]  # argmax of the ids
    assert pool_positions(ids, 98).tolist() == [76, 4, 21, 0]  # first eos; none -> 0


def test_sliding_window_blocks_keys_a_window_away_and_padding_blocks_pad_keys():
    blocked = blocked_keys(6, 2, torch.tensor([[0, 1, 1, 1, 1, 1]]))[0, 0]
    allowed = [[j for j in range(6) if not blocked[i, j]] for i in range(6)]
    assert allowed == [[], [1], [1, 2], [2, 3], [3, 4], [4, 5]]


def real_model(kind: str):
    """The real-size model built on the meta device, and the reference's key listing."""
    listing = json.loads((REFERENCE_DIR / f"real_{kind}_keys.json").read_text())
    build = {"gemma-2-2b": (Gemma2Config, Gemma2ForCausalLM),
             "clip-vit-h-14-text": (CLIPTextConfig, CLIPTextModelWithProjection)}[kind]
    with MetaDevice():
        model = build[1](build[0].from_hf(listing["config_to_dict"]))
    assert all(p.is_meta for p in model.parameters())
    return model, listing


@pytest.mark.parametrize("kind,count,total", [("gemma-2-2b", 288, 2_614_341_888),
                                              ("clip-vit-h-14-text", 389, 354_032_640)])
def test_real_size_keys_shapes_and_totals_equal_the_released_models(kind, count, total):
    model, listing = real_model(kind)
    ours = [(key, list(value.shape)) for key, value in model.state_dict().items()]
    assert ours == list(listing["stored_keys_without_tied_duplicates"].items())
    assert len(ours) == count
    assert sum(p.numel() for p in model.parameters()) == total == listing["total_parameters"]


def test_gemma_checkpoint_without_lm_head_is_all_the_model_needs():
    model, listing = real_model("gemma-2-2b")
    assert set(listing["state_dict"]) - set(model.state_dict()) == {"lm_head.weight"}
    assert listing["tied"] == ["lm_head.weight = model.embed_tokens.weight"]


def test_from_hf_reads_hf_field_names_and_refuses_unknown_activations():
    assert Gemma2Config.from_hf({"hidden_act": "gelu_pytorch_tanh", "num_hidden_layers": 3}).num_hidden_layers == 3
    assert CLIPTextConfig.from_hf({"text_config": {"hidden_size": 1024, "hidden_act": "gelu"}}).hidden_size == 1024
    with pytest.raises(ValueError, match="activation"):
        Gemma2Config.from_hf({"hidden_activation": "relu"})
    with pytest.raises(ValueError, match="activation"):
        CLIPTextConfig.from_hf({"hidden_act": "relu"})


def fingerprint(values) -> bytes:
    """Sorted float32 values: the same for a weight and its transposed copy in the graph."""
    return np.sort(np.asarray(values, np.float32).ravel()).tobytes()


def test_gemma_context_graph_holds_no_weight_of_the_last_layer_or_final_norm(tmp_path):
    model = reference_model(CASES["gemma2_upstream"])
    ids = torch.from_numpy(reference_arrays(CASES["gemma2_upstream"])[0]["input_ids"])
    export_text_encoder(GemmaContextGraph(model), ids, tmp_path, "context.onnx", "context")
    graph = onnx.load(str(tmp_path / "context.onnx")).graph
    stored = {fingerprint(numpy_helper.to_array(t)) for t in graph.initializer}
    last = f"model.layers.{model.config.num_hidden_layers - 1}."
    for key, weight in model.state_dict().items():
        # RMSNorm weights appear as the folded (1 + w).
        forms = {fingerprint(weight), fingerprint(1.0 + weight)} if key.endswith("norm.weight") else {
            fingerprint(weight)}
        unused = key.startswith(last) or key == "model.norm.weight"
        assert bool(forms & stored) != unused, key
    assert [i.name for i in graph.input] == ["input_ids"] and [o.name for o in graph.output] == ["context"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


@pytest.mark.parametrize("name,graph", [("gemma2_upstream", GemmaContextGraph),
                                        ("clip_eos98_pooling_probe", ClipPooledGraph)])
def test_fp16_export_keeps_softmax_and_pooling_in_float32_islands(tmp_path, name, graph):
    model = reference_model(CASES[name])
    ids = torch.from_numpy(reference_arrays(CASES[name])[0]["input_ids"])
    module = graph(model)
    export_text_encoder(module, ids, tmp_path, "graph.onnx", module.ROLE, fp16=True)
    exported = shape_inference.infer_shapes(onnx.load(str(tmp_path / "graph.onnx")))
    types = {v.name: v.type.tensor_type.elem_type for v in exported.graph.value_info}
    weights = [t.data_type for t in exported.graph.initializer if len(t.dims) == 2]
    assert weights and all(t == TensorProto.FLOAT16 for t in weights)
    softmax = [n for n in exported.graph.node if n.op_type == "Softmax"]
    expected = TensorProto.FLOAT if graph is GemmaContextGraph else TensorProto.FLOAT16
    assert softmax and all(types[n.input[0]] == expected for n in softmax)
    assert all(types[n.input[0]] == TensorProto.FLOAT for n in exported.graph.node if n.op_type == "ArgMax")
    assert exported.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT


def test_export_refuses_a_role_the_graph_does_not_serve(tmp_path):
    model = reference_model(CASES["clip_eos98_pooling_probe"])
    with pytest.raises(ValueError, match="pooled"):
        export_text_encoder(ClipPooledGraph(model), torch.zeros(1, 77, dtype=torch.int64), tmp_path, "x.onnx",
                            "context")


@pytest.mark.parametrize("name", sorted(FIXTURE_CASES))
def test_fixture_goldens_are_the_reference_values_unchanged(name):
    folder = ROOT / "tests" / "fixtures" / "text-encoders"
    source_key, output, atol = FIXTURE_CASES[name]
    tensors = read_safetensors(folder / f"{name}.safetensors")
    inputs, golden = reference_arrays(CASES[name])
    assert np.array_equal(tensors[f"{name}/inputs/input_ids"], inputs["input_ids"])
    assert np.array_equal(tensors[f"{name}/outputs/{output}"], golden[source_key])
    _, metadata = read_header(folder / f"{name}.safetensors")
    source = json.loads(metadata["source"])
    for part in ("inputs", "outputs"):
        assert source[part]["sha256"] == sha256(REFERENCE_DIR / source[part]["file"])
    assert json.loads(metadata["tolerances"]) == {output: {"atol": atol, "rtol": 0.0}}
    assert metadata["graph"] == f"{name}.onnx" and (folder / metadata["graph"]).exists()
