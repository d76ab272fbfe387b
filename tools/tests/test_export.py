"""ONNX export: step-graph semantics, graph contract, fp16, external data, manifest (runtime checks: Deno test)."""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper, shape_inference

from tools.editmgt.configs import transformer_config, vq_config
from tools.editmgt.text_encoder import TextEncoder, TextEncoderConfig
from tools.editmgt.tokenizer import WordTokenizer
from tools.editmgt.transformer import Transformer2DModel
from tools.editmgt.vq import VQModel
from tools.export import goldens
from tools.export.fp16 import Fp16ConversionError, convert_to_fp16
from tools.editmgt.sampling import categorical_draw
from tools.export.graphs import TransformerStep, VQDecoder
from tools.export.manifest import ManifestError, consistency_problems, validate_manifest
from tools.export.models import randomize, text_component
from tools.export.onnx_io import dedupe_constants, drop_trailing_empty_inputs, export_graph, trace
from tools.export.package import STEP_INPUTS, PackageSpec, export_package, for_export, step_example_inputs
from tools.safetensors import read_header

ROOT = Path(__file__).resolve().parents[2]
SMALL_TRANSFORMER = {"base": "parity-tiny", "num_layers": 1, "num_single_layers": 1, "vocab_size": 65,
                     "codebook_size": 64}
SMALL_VQ = {"base": "tiny", "block_out_channels": [8, 16], "latent_channels": 8, "num_vq_embeddings": 64,
            "norm_num_groups": 4}
TEXT = TextEncoderConfig(vocab_size=6, length=8, width=24, layers=1, heads=2, pooled_dim=20)
CONTRACT = {
    "inputs": {"tokens": (TensorProto.INT64, [1, 16, 16]), "ref_tokens": (TensorProto.INT64, [1, 16, 16]),
               "context": (TensorProto.FLOAT, [2, 8, 24]), "pooled": (TensorProto.FLOAT, [2, 20]),
               "micro_conds": (TensorProto.FLOAT, [5]), "timestep": (TensorProto.FLOAT, [1]),
               "log_gamma": (TensorProto.FLOAT, []), "guidance_scale": (TensorProto.FLOAT, []),
               "uniform": (TensorProto.FLOAT, [1, 256])},
    "outputs": {"sampled": (TensorProto.INT64, [1, 256]), "sampled_logprob": (TensorProto.FLOAT, [1, 256]),
                "ref_logprob": (TensorProto.FLOAT, [1, 256]), "text_attention": (TensorProto.FLOAT, [8, 64])},
}


def _io(values):
    return {v.name: (v.type.tensor_type.elem_type, [d.dim_value for d in v.type.tensor_type.shape.dim])
            for v in values}


@pytest.fixture(scope="module")
def small_step():
    transformer = randomize(Transformer2DModel(transformer_config(SMALL_TRANSFORMER)), seed=1)
    return TransformerStep(transformer, [1]).eval()


@pytest.fixture(scope="module")
def step_graph(small_step):
    example = step_example_inputs(small_step.transformer.config, (16, 16), 8, [32, 32, 0, 0, 6])
    return trace(small_step, example, STEP_INPUTS, small_step.OUTPUTS)


def test_the_graph_draw_is_the_inverse_cdf_of_the_guided_softmax():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    cond = torch.log(probs)[None, :, None, None].expand(1, 4, 1, 5)
    uncond = torch.randn(1, 4, 1, 5, generator=torch.Generator().manual_seed(0))
    # 0.099 and 0.65 sit near (not on) the cdf steps: u + (c - u) is c only up to rounding.
    uniform = torch.tensor([[0.0, 0.05, 0.099, 0.65, 0.9999999]])
    ref = torch.tensor([[[3, 0, 1, 2, 3]]])
    sampled, sampled_logprob, ref_logprob = categorical_draw(uncond, cond, torch.tensor(1.0), uniform, ref)
    # g = 1 keeps the cond half; cdf = [0.1, 0.3, 0.6, 1.0]; sampled = #{k: cdf_k < u * cdf_3}
    assert sampled.tolist() == [[0, 0, 0, 3, 3]]
    assert torch.allclose(sampled_logprob, torch.log(probs[sampled[0]])[None], atol=1e-6)
    assert torch.allclose(ref_logprob, torch.log(probs[ref.reshape(-1)])[None], atol=1e-6)


def test_step_wrapper_outputs_follow_the_transformer_logits_and_capture(small_step):
    inputs = step_example_inputs(small_step.transformer.config, (16, 16), 8, [32, 32, 0, 0, 6], seed=3)
    with torch.no_grad():
        sampled, sampled_logprob, ref_logprob, attention = small_step(*inputs)
        tokens, ref, context, pooled, micro, timestep, log_gamma, guidance, _ = inputs
        logits, capture = small_step.transformer(tokens.expand(2, -1, -1), ref.expand(2, -1, -1), context, pooled,
                                                 micro.expand(2, -1), timestep.expand(2), log_gamma, [1])
    mixed = (logits[0] + guidance * (logits[1] - logits[0])).reshape(64, -1).t()
    logprobs = torch.log_softmax(mixed, -1)
    assert torch.allclose(sampled_logprob[0], logprobs.gather(1, sampled.reshape(-1, 1))[:, 0], atol=1e-5)
    assert torch.allclose(ref_logprob[0], logprobs.gather(1, ref.reshape(-1, 1))[:, 0], atol=1e-5)
    assert torch.allclose(attention, capture[1].mean(dim=(0, 1)))
    assert attention.shape == (8, 64) and torch.all(attention.sum(-1) <= 1.0 + 1e-6)


def test_step_graph_has_exactly_the_contract_inputs_and_outputs(step_graph, small_step):
    onnx.checker.check_model(step_graph, full_check=True)
    assert step_graph.opset_import[0].version == 17
    assert _io(step_graph.graph.input) == CONTRACT["inputs"]
    assert _io(step_graph.graph.output) == CONTRACT["outputs"]
    weights = sum(int(np.prod(t.dims)) for t in step_graph.graph.initializer)
    assert weights == sum(p.numel() for p in small_step.parameters()), "every weight stored once"


def test_fp16_export_stores_half_weights_and_keeps_the_sampling_head_in_float32(small_step):
    example = step_example_inputs(small_step.transformer.config, (16, 16), 8, [32, 32, 0, 0, 6])
    double = TransformerStep(for_export(small_step.transformer, fp16=True), [1])
    model = shape_inference.infer_shapes(convert_to_fp16(trace(double, example, STEP_INPUTS, double.OUTPUTS)))
    onnx.checker.check_model(model, full_check=True)
    assert _io(model.graph.input) == CONTRACT["inputs"] and _io(model.graph.output) == CONTRACT["outputs"]
    assert {t.data_type for t in model.graph.initializer} == {TensorProto.FLOAT16}
    types = {v.name: v.type.tensor_type.elem_type for v in model.graph.value_info}
    types.update({v.name: v.type.tensor_type.elem_type for v in model.graph.input})
    by_op = {}
    for node in model.graph.node:
        if node.input:
            by_op.setdefault(node.op_type, []).append(types.get(node.input[0]))
    assert TensorProto.DOUBLE not in types.values()
    assert by_op["CumSum"] == [TensorProto.FLOAT] and by_op["Log"] == [TensorProto.FLOAT] * 2
    assert set(by_op["Sin"]) == {TensorProto.FLOAT}, "sinusoids of timestep and micro-conds in float32"
    assert set(by_op["LayerNormalization"]) == {TensorProto.FLOAT}
    assert TensorProto.FLOAT16 in by_op["MatMul"]
    # t * 1000 reaches the sinusoid without passing through fp16 (35000 would round to 35008)
    frontier, seen = {"timestep"}, set()
    while frontier:
        name = frontier.pop()
        seen.add(name)
        for node in model.graph.node:
            if name in node.input and node.op_type not in ("Sin", "Cos"):
                frontier |= set(node.output) - seen
    assert seen and all(types.get(n) != TensorProto.FLOAT16 for n in seen)


def test_fp16_conversion_refuses_weights_beyond_the_half_range():
    graph = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [2])],
                              [numpy_helper.from_array(np.array([1.0, 1e6]), "w")])
    with pytest.raises(Fp16ConversionError, match="float64"):
        convert_to_fp16(helper.make_model(graph))
    graph.input[0].type.tensor_type.elem_type = TensorProto.FLOAT
    graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT
    with pytest.raises(Fp16ConversionError, match="beyond the fp16 range"):
        convert_to_fp16(helper.make_model(graph))


def test_graph_cleanups_merge_repeated_constants_and_drop_empty_trailing_inputs():
    table = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "t")
    nodes = [helper.make_node("Constant", [], ["c1"], value=table),
             helper.make_node("Constant", [], ["c2"], value=table),
             helper.make_node("Add", ["c1", "c2"], ["s"]),
             helper.make_node("LayerNormalization", ["s", "scale", ""], ["y"], axis=-1)]
    graph = helper.make_graph(nodes, "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
                              [numpy_helper.from_array(np.ones(3, np.float32), "scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert dedupe_constants(model) == 1 and drop_trailing_empty_inputs(model) == 1
    assert [n.op_type for n in model.graph.node] == ["Constant", "Add", "LayerNormalization"]
    assert list(model.graph.node[1].input) == ["c1", "c1"] and list(model.graph.node[2].input) == ["s", "scale"]
    onnx.checker.check_model(model, full_check=True)


def test_external_data_is_used_above_the_threshold_and_holds_the_same_weights(tmp_path):
    vq = randomize(VQModel(vq_config(SMALL_VQ)), seed=2)
    tokens = torch.randint(0, 65, (1, 4, 4))
    inline = export_graph(VQDecoder(vq), (tokens,), ["tokens"], tmp_path / "a", "vq_decoder.onnx")
    external = export_graph(VQDecoder(vq), (tokens,), ["tokens"], tmp_path / "b", "vq_decoder.onnx",
                            external_data_threshold=1000)
    assert inline.files == ["vq_decoder.onnx"]
    assert external.files == ["vq_decoder.onnx", "vq_decoder.onnx.data"]
    assert (tmp_path / "b" / "vq_decoder.onnx").stat().st_size < (tmp_path / "a" / "vq_decoder.onnx").stat().st_size
    a = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(tmp_path / "a" / "vq_decoder.onnx")).graph.initializer}
    b = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(tmp_path / "b" / "vq_decoder.onnx")).graph.initializer}
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_package_manifest_validates_and_hashes_every_file(tmp_path):
    transformer = randomize(Transformer2DModel(transformer_config(SMALL_TRANSFORMER)), seed=1)
    vq = randomize(VQModel(vq_config(SMALL_VQ)), seed=2)
    WordTokenizer(["red", "blue", "make", "circle"], TEXT.length).save(tmp_path / "tok.json")
    text = [text_component(randomize(TextEncoder(TEXT), seed=3), tmp_path / "tok.json")]
    spec = PackageSpec(model_id="t", version="0", source="test", resolution=32, timestep="mask-ratio",
                       micro_conds=[32, 32, 0, 0, 6], localization_blocks=[1], text_length=TEXT.length)
    report = export_package(tmp_path / "pkg", spec, transformer, vq, text)
    manifest = json.loads((tmp_path / "pkg" / "manifest.json").read_text())
    validate_manifest(manifest)
    assert manifest == report.manifest
    assert manifest["vq"] == {"grid": {"height": 16, "width": 16}, "codebookSize": 64, "maskTokenId": 64}
    assert manifest["transformer"]["grid"] == {"height": 8, "width": 8}
    assert [c["name"] for c in manifest["components"]] == ["tokenizer", "text_encoder", "vq_encoder", "vq_decoder",
                                                           "transformer"]
    for component in manifest["components"]:
        for file in component["files"]:
            data = (tmp_path / "pkg" / file["path"]).read_bytes()
            assert len(data) == file["bytes"]
            assert hashlib.sha256(data).hexdigest() == file["sha256"]
    broken = dict(manifest, components=manifest["components"][2:])
    assert consistency_problems(broken) == ["no text-encoder serves the context features",
                                            "no text-encoder serves the pooled features",
                                            "no tokenizer serves the context features"]
    with pytest.raises(ManifestError, match="codebookSize"):
        validate_manifest(dict(manifest, vq={"grid": manifest["vq"]["grid"], "maskTokenId": 64}))


def test_committed_fixture_package_and_goldens_agree():
    manifest = json.loads((ROOT / "tests/fixtures/tiny-random/manifest.json").read_text())
    validate_manifest(manifest)
    assert consistency_problems(manifest) == []
    files = {f["path"] for c in manifest["components"] for f in c["files"]}
    for name in ("transformer", "vq_encoder", "vq_decoder", "text_encoder"):
        infos, metadata = read_header(ROOT / f"tests/fixtures/goldens/{name}.safetensors")
        assert metadata["graph"] in files
        for case in metadata["cases"].split(","):
            assert any(k.startswith(f"{case}/outputs/") for k in infos)


def test_float64_reference_draw_agrees_with_the_graph_draw_away_from_ties():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((2, 400, 32)).astype(np.float32) * 3
    uniform = rng.random((1, 400)).astype(np.float32)
    reference = goldens.sampling_near_ties(logits, 2.0, uniform)
    halves = torch.from_numpy(logits).transpose(1, 2).reshape(2, 32, 20, 20).chunk(2)
    sampled, _, _ = categorical_draw(*halves, torch.tensor(2.0), torch.from_numpy(uniform),
                                     torch.zeros(1, 20, 20, dtype=torch.int64))
    clear = ~reference["near_tie"]
    assert clear.mean() > 0.9
    assert np.array_equal(sampled[0].numpy()[clear], reference["sampled"][clear])
