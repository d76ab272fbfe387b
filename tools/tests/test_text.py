"""The tiny model's word-level tokenizer (Python and tokenizer.json agree) and its text encoder."""

import json
from pathlib import Path
import subprocess

import pytest
import torch

from tools.data.domain import vocabulary
from tools.editmgt.text_encoder import TextEncoder, TextEncoderConfig
from tools.editmgt.tokenizer import PAD_ID, UNK_ID, WordTokenizer, pre_tokenize

REPO = Path(__file__).resolve().parents[2]
DENO = REPO / "node_modules" / ".bin" / "deno"
SENTENCES = [
    "Make the red circle BLUE!",
    "remove the blue square, please",
    "add a yellow star at the top left",
    "turn the red square into a hexagon",
    "",
    "make  the background purple.",
    "paint the circle green and the square red and the star blue and the triangle black",
]


@pytest.fixture(scope="module")
def tokenizer():
    return WordTokenizer(vocabulary())


def test_special_ids_come_first(tokenizer):
    assert tokenizer.vocab["[PAD]"] == PAD_ID == 0 and tokenizer.vocab["[UNK]"] == UNK_ID


def test_words_are_lowercased_split_and_padded(tokenizer):
    encoding = tokenizer.encode("Make the red circle BLUE!")
    assert encoding.tokens == ["make", "the", "red", "circle", "blue", "!"]
    assert len(encoding.ids) == 16 and encoding.ids[6:] == [PAD_ID] * 10
    assert encoding.ids[4] == tokenizer.vocab["blue"]


def test_unknown_words_map_to_unk(tokenizer):
    encoding = tokenizer.encode("turn the square into a hexagon")
    assert encoding.ids[5] == UNK_ID and encoding.tokens[5] == "[UNK]"


def test_long_instructions_are_truncated(tokenizer):
    assert len(tokenizer.encode(SENTENCES[-1]).ids) == 16


def test_offsets_point_at_the_words():
    text = "Paint  the Circle, green"
    assert [text[s:e] for _, s, e in pre_tokenize(text)] == ["Paint", "the", "Circle", ",", "green"]


def test_json_round_trip_keeps_ids(tokenizer, tmp_path):
    path = tmp_path / "tokenizer.json"
    tokenizer.save(path)
    document = json.loads(path.read_text())
    assert document["model"]["type"] == "WordPiece" and document["normalizer"] == {"type": "Lowercase"}
    loaded = WordTokenizer.load(path)
    assert all(loaded.encode(s).ids == tokenizer.encode(s).ids for s in SENTENCES)


@pytest.mark.skipif(not DENO.exists(), reason="deno not installed (npm install --no-save deno@2.9.6)")
def test_huggingface_tokenizers_js_gives_the_same_ids(tokenizer, tmp_path):
    tokenizer.save(tmp_path / "tokenizer.json")
    expected = [tokenizer.encode(s).ids for s in SENTENCES]
    script = tmp_path / "check.ts"
    script.write_text(
        'import { Tokenizer } from "@huggingface/tokenizers";\n'
        f'const json = JSON.parse(Deno.readTextFileSync("{tmp_path / "tokenizer.json"}"));\n'
        "const tokenizer = new Tokenizer(json, {});\n"
        f"const sentences = {json.dumps(SENTENCES)};\n"
        "const ids = sentences.map((s) => {\n"
        "  const got = tokenizer.encode(s).ids.slice(0, 16);\n"
        "  return [...got, ...Array(16 - got.length).fill(0)];\n"
        "});\n"
        "console.log(JSON.stringify(ids));\n"
    )
    result = subprocess.run([str(DENO), "run", "-A", "--config", str(REPO / "deno.json"), str(script)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return TextEncoder(TextEncoderConfig(vocab_size=70, length=16, width=64, layers=2, heads=4, pooled_dim=48)).eval()


def test_encoder_output_shapes(encoder):
    ids = torch.randint(2, 70, (3, 16))
    context, pooled = encoder(ids)
    assert context.shape == (3, 16, 64) and pooled.shape == (3, 48)


def test_padding_positions_do_not_change_the_words_states(encoder):
    ids = torch.tensor([[5, 6, 7] + [0] * 13])
    other = ids.clone()
    context, pooled = encoder(ids)
    with torch.no_grad():
        encoder.position_embedding.data[10] += 5.0
        context2, pooled2 = encoder(other)
        encoder.position_embedding.data[10] -= 5.0
    assert torch.allclose(context[:, :3], context2[:, :3], atol=1e-5)
    assert torch.allclose(pooled, pooled2, atol=1e-5)


def test_empty_prompt_is_finite(encoder):
    context, pooled = encoder(torch.zeros(2, 16, dtype=torch.int64))
    assert torch.isfinite(context).all() and torch.isfinite(pooled).all()


def test_encoder_exports_to_onnx(encoder, tmp_path):
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "text_encoder.onnx"
    torch.onnx.export(encoder, (torch.zeros(1, 16, dtype=torch.int64),), str(path), opset_version=17,
                      input_names=["input_ids"], output_names=["context", "pooled"],
                      dynamic_axes={"input_ids": {0: "batch"}, "context": {0: "batch"}, "pooled": {0: "batch"}})
    onnx.checker.check_model(onnx.load(str(path)))
    assert path.stat().st_size > 10_000
