"""Weight variants: int8 and q4 packing, the graph rewrites, external data (runtime check: bench/variants)."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tools.export.onnx_io import OPSET, save
from tools.export.quantize import (MS_DOMAIN, QuantizeOptions, dequantize_int8, dequantize_q4, quantize_file,
                                   quantize_int8, quantize_model, quantize_q4)

RNG = np.random.default_rng(0)


def test_q4_packs_the_first_code_of_a_pair_in_the_low_nibble():
    weight = np.zeros((1, 32), dtype=np.float32)
    weight[0, :4] = [-8.0, 1.0, 7.0, -3.0]  # the block's extreme is -8, so the scale is 1
    packed, scales = quantize_q4(weight, 32)
    assert packed.shape == (1, 1, 16) and packed.dtype == np.uint8
    assert scales.tolist() == [1.0]
    assert packed[0, 0, 0] == (0 | (9 << 4))  # codes 0 (-8 + 8) then 9 (1 + 8)
    assert packed[0, 0, 1] == (15 | (5 << 4))  # codes 15 (7 + 8) then 5 (-3 + 8)


def test_q4_round_trip_is_exact_on_the_grid_and_within_half_a_step_off_it():
    n, k, block = 6, 80, 32  # K not a multiple of the block: padded to 3 blocks
    scales = RNG.uniform(0.01, 1.0, (n, 3)).astype(np.float32)
    codes = RNG.integers(-8, 8, (n, 96))
    codes[:, ::32] = -8  # every block's extreme is -8 * scale, which fixes the scale exactly
    on_grid = (codes * np.repeat(scales, 32, axis=1))[:, :k].astype(np.float32)
    packed, got_scales = quantize_q4(on_grid, block)
    assert packed.shape == (n, 3, 16) and got_scales.shape == (n * 3,)
    np.testing.assert_array_equal(dequantize_q4(packed, got_scales, k), on_grid)

    weight = RNG.standard_normal((n, k)).astype(np.float32)
    packed, got_scales = quantize_q4(weight, block)
    step = np.repeat(np.abs(got_scales.reshape(n, 3)), block, axis=1)[:, :k]
    error = np.abs(dequantize_q4(packed, got_scales, k) - weight)
    assert np.all(error <= step * 1.0 + 1e-7)  # clipping at +7 costs at most one step
    assert np.mean(error <= step / 2 + 1e-7) > 0.95


def test_q4_rejects_block_sizes_the_op_does_not_allow():
    with pytest.raises(ValueError, match="power of two"):
        quantize_q4(np.ones((2, 48), np.float32), 24)


def test_int8_round_trip_per_output_channel():
    weight = RNG.standard_normal((40, 24)).astype(np.float32)
    weight[:, 3] = 0.0
    q, scale = quantize_int8(weight, axis=1)
    assert q.dtype == np.int8 and scale.shape == (24,) and scale[3] == 1.0
    assert np.all(np.abs(q).max(axis=0)[np.arange(24) != 3] == 127)
    error = np.abs(dequantize_int8(q, scale, 1) - weight)
    assert np.all(error <= scale / 2 + 1e-7)


def linear_model(shared: bool = True) -> onnx.ModelProto:
    """MatMul [64,48] (read twice, via an Identity, unless not ``shared``), a Gemm with transB and bias, an
    embedding Gather, a tiny MatMul and a kept head."""
    weights = {
        "w": RNG.standard_normal((64, 48)).astype(np.float32),
        "w2": RNG.standard_normal((64, 48)).astype(np.float32),
        "w_gemm": RNG.standard_normal((48, 64)).astype(np.float32),
        "b_gemm": RNG.standard_normal(48).astype(np.float32),
        "table": RNG.standard_normal((100, 64)).astype(np.float32),
        "w_tiny": RNG.standard_normal((48, 8)).astype(np.float32),
        "w_head": RNG.standard_normal((48, 64)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["rows"], name="embed/Gather"),
        helper.make_node("MatMul", ["rows", "w"], ["h1"], name="block/MatMul"),
        helper.make_node("Identity", ["w"], ["w_again"], name="Identity_0"),  # how the tracer shares a weight
        helper.make_node("MatMul", ["x", "w_again" if shared else "w2"], ["h2"], name="block/MatMul_1"),
        helper.make_node("Gemm", ["x2d", "w_gemm", "b_gemm"], ["g"], name="cond/Gemm", transB=1),
        helper.make_node("MatMul", ["h1", "w_tiny"], ["small"], name="tiny/MatMul"),
        helper.make_node("MatMul", ["h2", "w_head"], ["logits"], name="mlm_layer/MatMul"),
    ]
    floats = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)  # noqa: E731
    graph = helper.make_graph(
        nodes, "linear",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [2, 5]), floats("x", [2, 5, 64]),
         floats("x2d", [3, 64])],
        [floats("h1", [2, 5, 48]), floats("g", [3, 48]), floats("small", [2, 5, 8]), floats("logits", [2, 5, 64])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


OPTIONS = QuantizeOptions(min_elements=1000, keep=("mlm_layer",))


def ops(model):
    return sorted(n.op_type for n in model.graph.node)


def initializer(model, name):
    return numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == name))


def test_int8_rewrite_passes_the_checker_and_dequantizes_to_the_rounded_weights():
    base = linear_model()
    model, report = quantize_model(base, "int8", OPTIONS)
    onnx.checker.check_model(model, full_check=True)
    assert report.quantized == {"Gather": 1, "MatMul": 2, "Gemm": 1}
    assert sorted(reason for _, reason in report.skipped) == ["fewer than 1000 values", "kept in float32"]
    assert ops(model).count("DequantizeLinear") == 3  # one per reader (the shared weight has two) ...
    names = {t.name for t in model.graph.initializer}
    assert "w" not in names and "w_int8_q" in names and "w_tiny" in names and "w_head" in names  # ... stored once
    assert "Identity" not in ops(model)
    assert initializer(model, "w_int8_q").dtype == np.int8
    np.testing.assert_array_equal(initializer(model, "w_int8_q"), quantize_int8(initializer(base, "w"), 1)[0])
    np.testing.assert_array_equal(initializer(model, "w_gemm_int8_scale"),
                                  quantize_int8(initializer(base, "w_gemm"), 0)[1])
    assert initializer(model, "table_int8rows_scale").shape == (100, 1)
    assert [o.name for o in model.graph.output] == [o.name for o in base.graph.output]
    assert report.bytes_after < report.bytes_before / 2


def test_q4_rewrite_uses_matmul_nbits_with_the_documented_attributes():
    base = linear_model()
    model, report = quantize_model(base, "q4", OPTIONS)
    onnx.checker.check_model(model, full_check=True)
    assert report.quantized == {"Gather": 1, "MatMul": 2, "Gemm": 1}
    assert any(o.domain == MS_DOMAIN and o.version == 1 for o in model.opset_import)
    nbits = [n for n in model.graph.node if n.op_type == "MatMulNBits"]
    assert len(nbits) == 3 and all(n.domain == MS_DOMAIN for n in nbits)
    attributes = {a.name: helper.get_attribute_value(a) for a in nbits[0].attribute}
    assert attributes == {"K": 64, "N": 48, "bits": 4, "block_size": 32}
    assert initializer(model, "w_q4b32_q4").shape == (48, 2, 16)
    assert initializer(model, "w_q4b32_scales").shape == (96,)
    np.testing.assert_allclose(
        dequantize_q4(initializer(model, "w_q4b32_q4"), initializer(model, "w_q4b32_scales"), 64).T,
        initializer(base, "w"), atol=np.abs(initializer(base, "w")).max() / 8)
    gemm_bias = next(n for n in model.graph.node if n.name == "cond/Gemm/bias")
    assert gemm_bias.op_type == "Add" and list(gemm_bias.output) == ["g"]
    assert "Gather" in ops(model) and "DequantizeLinear" not in ops(model)  # embeddings stay int8 rows
    assert ops(model).count("MatMul") == 2  # the tiny and the kept MatMul


def test_quantize_file_reads_and_writes_external_data(tmp_path):
    save(linear_model(shared=False), tmp_path, "graph.onnx", external_data_threshold=1000)
    assert (tmp_path / "graph.onnx.data").exists()
    files, report = quantize_file(tmp_path / "graph.onnx", tmp_path, "graph.q4.onnx", "q4", OPTIONS,
                                  external_data_threshold=1000)
    assert files == ["graph.q4.onnx", "graph.q4.onnx.data"]
    onnx.checker.check_model(str(tmp_path / "graph.q4.onnx"), full_check=True)
    assert report.quantized["MatMul"] == 2
    files, _ = quantize_file(tmp_path / "graph.onnx", tmp_path, "graph.int8.onnx", "int8", OPTIONS)
    assert files == ["graph.int8.onnx"]


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="unknown quantized dtype"):
        quantize_model(linear_model(), "int4", OPTIONS)


def small_package(folder: Path, **variant_args):
    """A small random package (the test_export sizes) exported with ``variant_args``."""
    from tools.editmgt.configs import transformer_config, vq_config
    from tools.editmgt.text_encoder import TextEncoder, TextEncoderConfig
    from tools.editmgt.tokenizer import WordTokenizer
    from tools.editmgt.transformer import Transformer2DModel
    from tools.editmgt.vq import VQModel
    from tools.export.models import randomize, text_component
    from tools.export.package import PackageSpec, export_package

    transformer = randomize(Transformer2DModel(transformer_config(
        {"base": "parity-tiny", "num_layers": 1, "num_single_layers": 1, "vocab_size": 65, "codebook_size": 64})), 1)
    vq = randomize(VQModel(vq_config({"base": "tiny", "block_out_channels": [8, 16], "latent_channels": 8,
                                      "num_vq_embeddings": 64, "norm_num_groups": 4})), 2)
    config = TextEncoderConfig(vocab_size=6, length=8, width=24, layers=1, heads=2, pooled_dim=20)
    folder.mkdir(parents=True, exist_ok=True)
    WordTokenizer(["red", "blue", "make", "circle"], config.length).save(folder / "tok.json")
    text = [text_component(randomize(TextEncoder(config), 3), folder / "tok.json")]
    spec = PackageSpec(model_id="t", version="0", source="test", resolution=32, timestep="mask-ratio",
                       micro_conds=[32, 32, 0, 0, 6], localization_blocks=[1], text_length=config.length)
    return export_package(folder / "pkg", spec, transformer, vq, text, **variant_args)


def test_export_package_writes_variants_beside_the_base_and_lists_them(tmp_path):
    from tools.export.manifest import file_entry, validate_manifest

    report = small_package(tmp_path, variants={"transformer": ["fp16", "int8", "q4"], "vq_decoder": ["fp16"]},
                           variant_devices={"fp16": ["webgpu"], "q4": ["wasm"]})
    validate_manifest(report.manifest)
    components = {c["name"]: c for c in report.manifest["components"]}
    variants = components["transformer"]["variants"]
    assert [(v["dtype"], v.get("devices")) for v in variants] == [("fp16", ["webgpu"]), ("int8", None),
                                                                 ("q4", ["wasm"])]
    assert [v["files"][0]["path"] for v in variants] == ["transformer.fp16.onnx", "transformer.int8.onnx",
                                                        "transformer.q4.onnx"]
    for v in variants:
        assert v["files"][0] == file_entry(tmp_path / "pkg", v["files"][0]["path"])
    assert [v["dtype"] for v in components["vq_decoder"]["variants"]] == ["fp16"]
    assert "variants" not in components["vq_encoder"]
    q4 = onnx.load(str(tmp_path / "pkg" / "transformer.q4.onnx"))
    assert any(n.op_type == "MatMulNBits" for n in q4.graph.node)
    assert not any("mlm_layer" in n.name for n in q4.graph.node if n.op_type == "MatMulNBits")


def test_variant_requests_are_checked_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="base files' dtype"):
        small_package(tmp_path, fp16=True, variants={"transformer": ["fp16"]})
    with pytest.raises(ValueError, match="unknown variant dtype"):
        small_package(tmp_path, variants={"transformer": ["int4"]})
    with pytest.raises(ValueError, match="rewrites of fp32"):
        small_package(tmp_path, fp16=True, variants={"transformer": ["q4"]})
    assert not (tmp_path / "pkg" / "manifest.json").exists()


def test_add_variants_quantizes_an_existing_package_and_keeps_other_variants(tmp_path):
    from tools.export.manifest import consistency_problems
    from tools.export.variants import add_variants, quantize_options

    small_package(tmp_path, variants={"transformer": ["fp16"]})
    options = {"transformer": quantize_options("transformer", min_elements=256)}
    manifest, reports = add_variants(tmp_path / "pkg", {"transformer": ["q4"]}, {"q4": ["node"]}, options)
    variants = next(c for c in manifest["components"] if c["name"] == "transformer")["variants"]
    assert [(v["dtype"], v.get("devices")) for v in variants] == [("fp16", ["webgpu"]), ("q4", ["node"])]
    assert reports[0].quantized["MatMul"] > 0
    assert consistency_problems(manifest) == []
    with pytest.raises(ValueError, match="no graph component"):
        add_variants(tmp_path / "pkg", {"tokenizer": ["int8"]})
    broken = json.loads(json.dumps(manifest))
    broken["components"][-1]["variants"].append(dict(variants[1]))
    assert consistency_problems(broken) == ["transformer: variant dtype q4 repeats the base or another variant"]
