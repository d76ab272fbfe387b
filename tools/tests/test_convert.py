"""Checkpoint reading and conversion: safetensors I/O, strict key reports, synthetic checkpoints."""

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from tools.convert.__main__ import main as convert_main
from tools.convert.checkpoint import (CheckpointError, find_transformer_folder, load_checkpoint, read_component,
                                      transformer_config_from, vq_config_from)
from tools.convert.report import CheckpointMismatchError, compare_shapes, fold_keys, load_strict
from tools.convert.synthetic import (AMUSED_VQ_CONFIG, random_state, vq_shapes, write_checkpoint, write_component,
                                     write_snapshot)
from tools.convert.text_shapes import CLIP_H_TEXT_CONFIG, GEMMA2_2B_CONFIG, clip_text_shapes, gemma2_shapes
from tools.export.manifest import consistency_problems, validate_manifest
from tools.safetensors import (SafetensorsError, float32_to_bfloat16_bits, read_header, read_safetensors,
                               write_safetensors)

ROOT = Path(__file__).resolve().parents[2]
PARITY = Path(os.environ.get("EDITMGT_PARITY_DIR", ROOT.parent / "shared" / "reference" / "upstream-parity"))
needs_parity = pytest.mark.skipif(not PARITY.exists(), reason="upstream parity goldens not found (EDITMGT_PARITY_DIR)")


def test_safetensors_round_trip_keeps_values_dtypes_and_metadata(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"w": rng.standard_normal((3, 5)).astype(np.float32), "ids": np.arange(7, dtype=np.int64),
               "flag": np.array([True, False]), "scalar": np.float32(2.5).reshape(())}
    path = tmp_path / "t.safetensors"
    write_safetensors(path, tensors, {"format": "pt"})
    infos, metadata = read_header(path)
    assert metadata == {"format": "pt"}
    assert infos["w"].dtype == "F32" and infos["w"].shape == (3, 5)
    assert (8 + struct.unpack("<Q", path.read_bytes()[:8])[0]) % 8 == 0
    loaded = read_safetensors(path)
    for name, value in tensors.items():
        assert loaded[name].dtype == value.dtype and np.array_equal(loaded[name], value)


@pytest.mark.parametrize("dtype,torch_dtype", [("F16", torch.float16), ("BF16", torch.bfloat16)])
def test_half_precision_storage_rounds_like_torch_and_reads_back_as_float32(tmp_path, dtype, torch_dtype):
    values = np.random.default_rng(1).standard_normal(1000).astype(np.float32) * 100
    values[:4] = [0.0, -0.0, 1e-30, 65504.0]
    path = tmp_path / "h.safetensors"
    write_safetensors(path, {"x": values}, dtype=dtype)
    loaded = read_safetensors(path)["x"]
    expected = torch.from_numpy(values).to(torch_dtype).float().numpy()
    assert loaded.dtype == np.float32
    assert np.array_equal(loaded, expected)


def test_bfloat16_rounding_is_half_to_even_and_keeps_nan():
    bits = np.array([0x3F808000, 0x3F818000, 0x3F808001], dtype=np.uint32).view(np.float32)
    assert list(float32_to_bfloat16_bits(bits)) == [0x3F80, 0x3F82, 0x3F81]
    assert float32_to_bfloat16_bits(np.array([np.nan], np.float32))[0] & 0x7FC0 == 0x7FC0


def test_reader_rejects_truncated_and_inconsistent_files(tmp_path):
    path = tmp_path / "t.safetensors"
    write_safetensors(path, {"w": np.ones((4, 4), np.float32)})
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-4])
    with pytest.raises(SafetensorsError, match="byte range"):
        read_safetensors(tmp_path / "cut.safetensors")
    (tmp_path / "short.safetensors").write_bytes(data[:5])
    with pytest.raises(SafetensorsError, match="too short"):
        read_header(tmp_path / "short.safetensors")
    header = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 60]}}).encode()
    (tmp_path / "bad.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    with pytest.raises(SafetensorsError, match="needs 64 bytes"):
        read_header(tmp_path / "bad.safetensors")


def test_vq_key_derivation_counts_the_released_amused_parameters():
    shapes = vq_shapes(AMUSED_VQ_CONFIG)
    assert sum(int(np.prod(s)) for s in shapes.values()) == 146_244_675
    assert shapes["quantize.embedding.weight"] == (8192, 64)
    assert shapes["encoder.down_blocks.0.downsamplers.0.conv.weight"] == (128, 128, 3, 3)
    assert "encoder.down_blocks.4.downsamplers.0.conv.weight" not in shapes
    assert shapes["decoder.up_blocks.0.resnets.2.conv2.weight"] == (768, 768, 3, 3)


@needs_parity
def test_key_report_folds_block_indices_and_whole_blocks():
    real = json.load(open(f"{PARITY}/real_config_state_dict.json"))["state_dict"]
    expected = {e["key"]: tuple(e["shape"]) for e in real}
    found = {k: v for k, v in expected.items() if not k.startswith("single_transformer_blocks.27.")}
    found = {k: ((64,) if k.endswith("attn.norm_k.weight") else v) for k, v in found.items()}
    found["transformer_blocks.0.attn.extra.weight"] = (1,)
    report = compare_shapes(expected, found)
    text = report.format()
    assert not report.ok
    assert "single_transformer_blocks.27 (whole blocks)" in text
    assert "transformer_blocks.{0-13}.attn.norm_k.weight: [128] vs [64]" in text
    assert "single_transformer_blocks.{0-26}.attn.norm_k.weight: [128] vs [64]" in text
    assert "transformer_blocks.0.attn.extra.weight" in text
    assert len(text.splitlines()) < 12
    assert fold_keys(["a.1.b", "a.2.b", "a.3.b", "a.7.b", "c"]) == ["a.{1-3,7}.b", "c"]


def test_load_strict_refuses_a_mismatch_and_loads_an_exact_match():
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    state = random_state({k: tuple(v.shape) for k, v in module.state_dict().items()}, seed=3)
    with pytest.raises(CheckpointMismatchError, match="0.bias"):
        load_strict(module, {k: v for k, v in state.items() if k != "0.bias"}, "toy")
    load_strict(module, state, "toy")
    assert np.array_equal(module[0].weight.detach().numpy(), state["0.weight"])


def test_sharded_component_is_written_with_an_index(tmp_path):
    state = random_state(vq_shapes(dict(AMUSED_VQ_CONFIG, block_out_channels=[8, 16], norm_num_groups=4,
                                        latent_channels=4, num_vq_embeddings=8, layers_per_block=1)), seed=0)
    write_component(tmp_path / "vqvae", {"a": 1}, state, shards=3)
    index = json.loads((tmp_path / "vqvae" / "diffusion_pytorch_model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(state)
    assert len(set(index["weight_map"].values())) == 3


def _parity_checkpoint(folder, dtype="F32", shards=1, drop=(), transformer_subfolder="editmgt"):
    """Synthetic EditMGT checkpoint: upstream's tiny weights (real key names) and a small random VQ."""
    weights = np.load(f"{PARITY}/tiny_weights.npz")
    kwargs = json.load(open(f"{PARITY}/tiny_call_args.json"))["tiny_constructor_kwargs"]
    state = {k: weights[k] for k in weights.files if not k.startswith(drop)} if drop else \
        {k: weights[k] for k in weights.files}
    vq = dict(AMUSED_VQ_CONFIG, block_out_channels=[8, 16], latent_channels=8, num_vq_embeddings=64,
              norm_num_groups=4, layers_per_block=1)
    write_checkpoint(folder, dict(kwargs, _class_name="Transformer2DModel"), state, vq,
                     random_state(vq_shapes(vq), 0), transformer_subfolder, dtype, shards)
    return weights


@needs_parity
def test_checkpoint_loads_strictly_from_sharded_bf16_safetensors(tmp_path):
    weights = _parity_checkpoint(tmp_path / "ckpt", dtype="BF16", shards=3)
    transformer, vq, reports = load_checkpoint(tmp_path / "ckpt")
    assert reports["transformer"].ok and reports["transformer"].matched == 135
    assert reports["vq"].ok and vq.config.num_vq_embeddings == 64
    key = "single_transformer_blocks.2.attn.to_q.weight"
    expected = torch.from_numpy(weights[key]).bfloat16().float()
    assert torch.equal(transformer.state_dict()[key], expected)
    assert transformer.config.connector_type == "linear" and transformer.config.joint_attention_dim == 24


@needs_parity
def test_checkpoint_with_missing_block_fails_with_a_readable_report(tmp_path):
    _parity_checkpoint(tmp_path / "ckpt", drop=("single_transformer_blocks.2.", "connector."))
    with pytest.raises(CheckpointMismatchError) as error:
        load_checkpoint(tmp_path / "ckpt")
    text = str(error.value)
    assert "single_transformer_blocks.2 (whole blocks)" in text
    assert "connector.projector.weight" in text and "0 unexpected" in text


def test_meissonic_layout_without_connector_and_unsupported_vq_configs(tmp_path):
    config = transformer_config_from({"num_layers": 1, "num_single_layers": 1, "attention_head_dim": 8,
                                      "num_attention_heads": 2, "joint_attention_dim": 16,
                                      "pooled_projection_dim": 8, "axes_dims_rope": [2, 2, 4],
                                      "vocab_size": 9, "codebook_size": 8, "text_encoder_architecture": "CLIP"})
    assert config.connector_type == "none"
    with pytest.raises(CheckpointError, match="no transformer folder"):
        find_transformer_folder(tmp_path)
    (tmp_path / "transformer").mkdir()
    (tmp_path / "transformer" / "config.json").write_text("{}")
    assert find_transformer_folder(tmp_path).name == "transformer"
    with pytest.raises(CheckpointError, match="mid_block_add_attention.*norm_type|norm_type.*mid_block"):
        vq_config_from(dict(AMUSED_VQ_CONFIG, norm_type="spatial", mid_block_add_attention=True))
    with pytest.raises(CheckpointError, match="neither"):
        read_component(tmp_path / "transformer")


REFERENCE_TEXT = ROOT.parent / "shared" / "reference" / "text-encoders-parity"
needs_text_reference = pytest.mark.skipif(not REFERENCE_TEXT.exists(), reason="text-encoder goldens not found")


@needs_text_reference
@pytest.mark.parametrize("shapes,config,keys_file", [
    (gemma2_shapes, GEMMA2_2B_CONFIG, "real_gemma-2-2b_keys.json"),
    (clip_text_shapes, CLIP_H_TEXT_CONFIG, "real_clip-vit-h-14-text_keys.json"),
])
def test_text_encoder_keys_derived_from_the_config_equal_the_released_keys(shapes, config, keys_file):
    real = json.loads((REFERENCE_TEXT / keys_file).read_text())
    stored = {key: tuple(shape) for key, shape in real["stored_keys_without_tied_duplicates"].items()}
    derived = shapes(config)
    assert list(derived) == list(stored)
    assert derived == stored


@pytest.fixture(scope="module")
def tiny_snapshot(tmp_path_factory):
    """A tiny synthetic snapshot in the released layout (written once for this module)."""
    return write_snapshot(tmp_path_factory.mktemp("snapshot") / "editmgt")


def _copy(snapshot, tmp_path):
    target = tmp_path / "snapshot"
    shutil.copytree(snapshot.folder, target)
    return target


def test_synthetic_snapshot_has_the_released_layout(tiny_snapshot):
    root = tiny_snapshot.folder
    for name in ("model_index.json", "editmgt/config.json", "vqvae/config.json", "text_encoder/config.json",
                 "text_encoder/model.safetensors", "tokenizer/vocab.json", "tokenizer/merges.txt",
                 "llm_encoder/config.json", "llm_encoder/model.safetensors.index.json",
                 "llm_encoder/tokenizer.json", "scheduler/scheduler_config.json"):
        assert (root / name).exists(), name
    assert not (root / "tokenizer" / "tokenizer.json").exists(), "CLIP ships the slow files only"
    transformer = json.loads((root / "editmgt" / "config.json").read_text())
    gemma = json.loads((root / "llm_encoder" / "config.json").read_text())
    clip = json.loads((root / "text_encoder" / "config.json").read_text())
    assert transformer["joint_attention_dim"] == gemma["hidden_size"]
    assert transformer["pooled_projection_dim"] == clip["projection_dim"]
    assert transformer["text_encoder_architecture"] == "CLIP_Gemma2"


def test_snapshot_converts_with_one_command_into_a_complete_package(tiny_snapshot, tmp_path, monkeypatch, capsys):
    out = tmp_path / "package"
    monkeypatch.setattr("sys.argv", ["convert", str(tiny_snapshot.folder), str(out),
                                     "--resolution", str(tiny_snapshot.resolution)])
    assert convert_main() == 0
    printed = capsys.readouterr().out
    assert "tokenizer.json" in printed, "says how the CLIP tokenizer.json was made"
    manifest = json.loads((out / "manifest.json").read_text())
    validate_manifest(manifest)
    assert consistency_problems(manifest) == []
    components = {c["name"]: c for c in manifest["components"]}
    assert components["gemma"]["role"] == "context" and components["clip"]["role"] == "pooled"
    assert components["gemma_tokenizer"]["kind"] == "tokenizer"
    assert manifest["text"]["length"] == 256 and manifest["text"]["padSide"] == "left"
    assert manifest["text"]["pooledLength"] == 77 and manifest["text"]["pooledPadSide"] == "right"
    assert manifest["text"]["contextDim"] == 64 and manifest["text"]["pooledDim"] == 24
    assert manifest["transformer"]["timestep"] == "step-index"
    assert manifest["defaults"]["steps"] == 36 and manifest["defaults"]["guidance"] == 6.0
    for component in manifest["components"]:
        for file in component["files"]:
            assert (out / file["path"]).stat().st_size == file["bytes"]
    assert not list(tmp_path.glob(".package.partial-*")), "the temporary folder was renamed"


def _fails(snapshot_folder, out, capsys):
    from tools.convert.__main__ import main

    import sys as system
    system.argv = ["convert", str(snapshot_folder), str(out), "--resolution", "64"]
    assert main() == 1
    return capsys.readouterr().err


def test_conversion_errors_name_the_file_and_key_and_leave_nothing_behind(tiny_snapshot, tmp_path, capsys):
    root = _copy(tiny_snapshot, tmp_path)
    out = tmp_path / "out"
    index = json.loads((root / "llm_encoder" / "model.safetensors.index.json").read_text())
    key = "model.layers.1.mlp.up_proj.weight"
    shard = root / "llm_encoder" / index["weight_map"][key]
    tensors = read_safetensors(shard)

    write_safetensors(shard, {k: v for k, v in tensors.items() if k != key})
    del index["weight_map"][key]
    (root / "llm_encoder" / "model.safetensors.index.json").write_text(json.dumps(index))
    error = _fails(root, out, capsys)
    assert key in error and "llm_encoder" in error and shard.name in error

    write_safetensors(shard, dict(tensors, **{key: tensors[key][:, :-1]}))
    index["weight_map"][key] = shard.name
    (root / "llm_encoder" / "model.safetensors.index.json").write_text(json.dumps(index))
    error = _fails(root, out, capsys)
    assert key in error and "shape" in error

    write_safetensors(shard, dict(tensors, **{key: tensors[key].astype(np.int32)}))
    error = _fails(root, out, capsys)
    assert key in error and "I32" in error and shard.name in error

    write_safetensors(shard, dict(tensors, **{"model.layers.1.extra.weight": np.ones(3, np.float32)}))
    error = _fails(root, out, capsys)
    assert "model.layers.1.extra.weight" in error and "unexpected" in error

    write_safetensors(shard, tensors)
    shutil.rmtree(root / "text_encoder")
    error = _fails(root, out, capsys)
    assert "text_encoder" in error and "missing folder" in error

    assert not out.exists() and not list(tmp_path.glob(".out.*")), "nothing half written"


def test_conversion_refuses_an_existing_output_unless_replace(tiny_snapshot, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    error = _fails(tiny_snapshot.folder, out, capsys)
    assert "already exists" in error and (out / "keep.txt").exists()
