"""The CLIP and Gemma tokenizer.json writers, the synthetic tokenizers and the released-folder conversion."""

import json
import struct
from pathlib import Path

import pytest

from tools.convert import tokenizers as tk

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tokenizers"


def test_byte_table_is_gpt2s_printable_first_then_the_rest_from_u0100():
    table = tk.bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert list(table.items())[:2] == [(33, "!"), (34, '"')]
    assert table[ord("a")] == "a" and table[0] == "\u0100" and table[ord(" ")] == "\u0120"
    assert list(table)[94] == 0xA1, "after the 94 printable ASCII bytes come the Latin-1 ones"


def test_bpe_merges_the_lowest_rank_pair_first():
    ranks = {("b", "c"): 0, ("a", "b"): 1, ("a", "bc"): 2}
    assert tk.bpe(list("abc"), ranks) == ["abc"]
    assert tk.bpe(list("abcb"), {("a", "b"): 0, ("b", "c"): 1}) == ["ab", "c", "b"]
    assert tk.bpe(list("xy"), ranks) == ["x", "y"]


def test_clip_split_keeps_letter_runs_single_digits_contractions_and_symbol_runs():
    assert tk.clip_split("it's a red-ish 12 cat!!  ") == ["it", "'s", "a", "red", "-", "ish", "1", "2", "cat", "!!"]


def test_synthetic_clip_folder_has_only_the_slow_files_and_an_openai_layout(tmp_path):
    layout = tk.synthetic_clip_tokenizer(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]
    vocab = json.loads((tmp_path / "vocab.json").read_text())
    assert layout == tk.TokenizerLayout("clip", 77, 0, "right", vocab["<|startoftext|>"], vocab["<|endoftext|>"],
                                        len(vocab))
    assert vocab["!"] == 0 and vocab["a</w>"] == 256 + vocab["a"]
    assert layout.eos_token_id == max(vocab.values()), "CLIP's legacy pooling takes argmax(input_ids) as the EOT"
    assert 500 < layout.vocab_size < 1000
    assert (tmp_path / "merges.txt").read_text().startswith("#version: 0.2\n")


def test_clip_slow_files_become_a_tokenizer_json_of_clip_tokenizer_fast_shape(tmp_path):
    tk.synthetic_clip_tokenizer(tmp_path)
    path, how, layout = tk.ensure_tokenizer_json(tmp_path, "clip")
    assert path == tmp_path / "tokenizer.json" and "vocab.json" in how and "'!'" in how
    document = json.loads(path.read_text())
    model = document["model"]
    assert (model["type"], model["end_of_word_suffix"], model["continuing_subword_prefix"]) == ("BPE", "</w>", "")
    assert (model["byte_fallback"], model["fuse_unk"], model["unk_token"]) == (False, False, "<|endoftext|>")
    assert [n["type"] for n in document["normalizer"]["normalizers"]] == ["NFC", "Replace", "Lowercase"]
    split, byte_level = document["pre_tokenizer"]["pretokenizers"]
    assert (split["type"], split["behavior"], split["invert"], byte_level["type"]) == ("Split", "Removed", True,
                                                                                    "ByteLevel")
    assert document["post_processor"]["cls"] == ["<|startoftext|>", layout.bos_token_id]
    assert document["post_processor"]["sep"] == ["<|endoftext|>", layout.eos_token_id]
    assert document["padding"]["pad_id"] == 0 and document["padding"]["direction"] == "Right"
    assert {t["content"] for t in document["added_tokens"]} == {"<|startoftext|>", "<|endoftext|>", "!"}
    again = tk.ensure_tokenizer_json(tmp_path, "clip")
    assert again.how == "" and again.layout == layout, "a released tokenizer.json needs no note"


def test_clip_reference_encoding_lowercases_and_marks_word_ends():
    document = json.loads((FIXTURES / "clip" / "tokenizer.json").read_text())
    ids, tokens = tk.reference_encode(document, "  Make the RED\tcircle!")
    assert tokens == ["<|startoftext|>", "make</w>", "the</w>", "red</w>", "cir", "cle</w>", "!", "<|endoftext|>"]
    assert ids[-2] == 0, "'!' is the pad token, an added token, so it keeps id 0"
    _, cafe = tk.reference_encode(document, "café", add_special_tokens=False)
    assert cafe == ["caf", "\u00c3", "\u00a9</w>"]


def test_synthetic_gemma_folder_has_byte_tokens_and_left_padding(tmp_path):
    layout = tk.synthetic_gemma_tokenizer(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    assert layout == tk.TokenizerLayout("gemma", 256, 0, "left", 2, 1, layout.vocab_size)
    document = json.loads((tmp_path / "tokenizer.json").read_text())
    model = document["model"]
    assert all(f"<0x{b:02X}>" in model["vocab"] for b in range(256))
    assert (model["byte_fallback"], model["fuse_unk"], model["end_of_word_suffix"]) == (True, True, None)
    assert document["normalizer"] == {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}
    assert document["pre_tokenizer"] is None
    assert document["post_processor"]["single"][0] == {"SpecialToken": {"id": "<bos>", "type_id": 0}}
    assert layout.vocab_size == len(model["vocab"]) and 300 < layout.vocab_size < 600


def test_gemma_reference_encoding_uses_space_marks_and_byte_fallback():
    document = json.loads((FIXTURES / "gemma" / "tokenizer.json").read_text())
    _, tokens = tk.reference_encode(document, "make the café blue")
    assert tokens == ["<bos>", "make", "\u2581the", "\u2581caf", "<0xC3>", "<0xA9>", "\u2581blue"]
    ids = tk.padded_ids(document, "make the red circle")
    assert len(ids) == 256 and ids[:250] == [0] * 250 and ids[250] == 2
    long = tk.padded_ids(document, "make" + " the red circle" * 100)
    assert len(long) == 256 and long[0] == 2 and 0 not in long


def test_a_folder_without_tokenizer_files_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(tk.TokenizerError, match="tokenizer.model.*save_pretrained"):
        tk.ensure_tokenizer_json(tmp_path, "gemma")
    with pytest.raises(tk.TokenizerError, match="vocab.json"):
        tk.ensure_tokenizer_json(tmp_path, "clip")
    with pytest.raises(ValueError):
        tk.ensure_tokenizer_json(tmp_path, "t5")
    tk.synthetic_gemma_tokenizer(tmp_path)
    with pytest.raises(tk.TokenizerError, match="gemma tokenizer, not clip"):
        tk.ensure_tokenizer_json(tmp_path, "clip")


def test_the_folder_config_decides_pad_token_and_side(tmp_path):
    tk.synthetic_clip_tokenizer(tmp_path, pad_token="<|endoftext|>")
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    config["padding_side"] = "left"
    config["pad_token"] = {"content": "<|endoftext|>", "__type": "AddedToken"}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    layout = tk.ensure_tokenizer_json(tmp_path, "clip").layout
    assert (layout.pad_token_id, layout.pad_side) == (layout.eos_token_id, "left")


# --- SentencePiece ---------------------------------------------------------------------------------------------

def _varint(value):
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _field(number, wire, payload):
    key = _varint(number << 3 | wire)
    return key + (_varint(len(payload)) + payload if wire == 2 else payload)


def _sentencepiece(pieces, byte_fallback=True, dummy_prefix=False):
    """A ModelProto with the given (piece, score, type) entries, BPE, optional byte fallback."""
    def entry(piece, score, kind):
        return _field(1, 2, piece.encode()) + _field(2, 5, struct.pack("<f", score)) + _field(3, 0, _varint(kind))

    data = b"".join(_field(1, 2, entry(*piece)) for piece in pieces)
    trainer = _field(3, 0, _varint(2)) + _field(35, 0, _varint(int(byte_fallback))) + _field(45, 2, b"<unk>")
    return data + _field(2, 2, trainer) + _field(3, 2, _field(3, 0, _varint(int(dummy_prefix))))


def _gemma_pieces():
    control = [("<pad>", 0.0, 3), ("<eos>", 0.0, 3), ("<bos>", 0.0, 3), ("<unk>", 0.0, 2),
               ("<start_of_turn>", 0.0, 4)]
    byte_pieces = [(f"<0x{b:02X}>", 0.0, 6) for b in range(256)]
    normal = ["\u2581", "a", "b", "c", "r", "e", "d", "ab", "bc", "\u2581r", "\u2581re", "\u2581red", "abc"]
    return control + byte_pieces + [(p, -float(i), 1) for i, p in enumerate(normal)]


def test_sentencepiece_model_converts_like_the_gemma_converter(tmp_path):
    (tmp_path / "tokenizer.model").write_bytes(_sentencepiece(_gemma_pieces()))
    path, how, layout = tk.ensure_tokenizer_json(tmp_path, "gemma")
    assert "tokenizer.model" in how and "GemmaTokenizerFast" in how
    document = json.loads(path.read_text())
    vocab = document["model"]["vocab"]
    assert vocab["\t"] == 5 + 9 and "<0x09>" not in vocab, "the tab byte is stored as a literal tab"
    assert layout == tk.TokenizerLayout("gemma", 256, 0, "left", 2, 1, len(vocab))
    merges = [tuple(m) for m in document["model"]["merges"]]
    # by the merged piece's score, highest first: ab (-7), bc (-8), ▁r (-9), ▁re (-10), ▁red (-11), abc (-12)
    assert merges[:5] == [("a", "b"), ("b", "c"), ("\u2581", "r"), ("\u2581r", "e"), ("\u2581re", "d")]
    assert set(merges[5:]) == {("ab", "c"), ("a", "bc")}
    specials = {t["content"]: t["special"] for t in document["added_tokens"]}
    assert specials == {"<pad>": True, "<eos>": True, "<bos>": True, "<unk>": True, "<start_of_turn>": True}
    _, tokens = tk.reference_encode(document, "abc red\u00e9")
    assert tokens == ["<bos>", "abc", "\u2581red", "<0xC3>", "<0xA9>"]


def test_a_sentencepiece_model_of_another_kind_is_refused(tmp_path):
    (tmp_path / "tokenizer.model").write_bytes(_sentencepiece(_gemma_pieces(), dummy_prefix=True))
    with pytest.raises(tk.TokenizerError, match="dummy prefix"):
        tk.ensure_tokenizer_json(tmp_path, "gemma")


# --- fixtures -------------------------------------------------------------------------------------------------

def test_committed_typescript_fixtures_are_what_the_writer_produces(tmp_path):
    tk.write_fixtures(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for relative in written:
        assert (FIXTURES / relative).read_bytes() == (tmp_path / relative).read_bytes(), (
            f"{relative} is stale: /usr/bin/python3 -m tools.convert.tokenizers tests/fixtures/tokenizers")
