"""The real EditMGT's two tokenizers as Hugging Face ``tokenizer.json`` files, plus small synthetic ones.

Two kinds, with the structure the Rust ``tokenizers`` library writes for them (``@huggingface/tokenizers``
reads every class used here):

- ``clip`` (OpenCLIP ViT-H-14 text tower, ``CLIPTokenizerFast``): NFC, ``\\s+`` -> " ", lowercase; split on
  CLIP's regex (the rest, whitespace, is removed), bytes mapped to unicode; BPE with the end-of-word suffix
  ``</w>``; ``<|startoftext|>`` ... ``<|endoftext|>`` around the content. 77 positions, padded on the right.
- ``gemma`` (Gemma-2, ``GemmaTokenizerFast``): " " -> "\u2581" (no dummy prefix), no pre-tokenizer; BPE with
  ``byte_fallback`` (``<0x..>`` tokens) and ``fuse_unk``; ``<bos>`` prepended. 256 positions, padded on the
  left with ``<pad>`` (id 0).

``reference_encode`` re-implements both pipelines in Python, so tests check that a written file means what
its writer intended. Regenerate the TypeScript fixtures with::

    /usr/bin/python3 -m tools.convert.tokenizers tests/fixtures/tokenizers
"""

from __future__ import annotations

import json
import struct
import sys
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

CLIP, GEMMA = "clip", "gemma"
TEXT_LENGTHS = {CLIP: 77, GEMMA: 256}
DEFAULT_PAD_SIDES = {CLIP: "right", GEMMA: "left"}
SPACE_MARK = "\u2581"
END_OF_WORD = "</w>"
# CLIPTokenizerFast's split pattern (transformers' CLIPConverter); what does not match (whitespace) is removed.
CLIP_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
CLIP_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
# The slow CLIPTokenizer reads at most this many merges from merges.txt (49152 - 256 bytes - 2 specials).
CLIP_MAX_MERGES = 49152 - 256 - 2
CLIP_SPECIALS = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                 "pad_token": "<|endoftext|>"}
GEMMA_SPECIALS = {"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"}
# Marked special by transformers' GemmaConverter although SentencePiece calls them user-defined.
GEMMA_TURN_TOKENS = ("<start_of_turn>", "<end_of_turn>")

Merge = Tuple[str, str]


class TokenizerError(ValueError):
    """A tokenizer folder that cannot be turned into a ``tokenizer.json``; the message says what to do."""


@dataclass(frozen=True)
class TokenizerLayout:
    """What the manifest needs to know about one text encoder's ``input_ids``."""

    kind: str
    max_length: int
    pad_token_id: int
    pad_side: str
    bos_token_id: int
    eos_token_id: int
    vocab_size: int

    def to_json(self) -> Dict[str, Any]:
        """The layout as a JSON object."""
        return asdict(self)


class EnsuredTokenizer(NamedTuple):
    """Result of ``ensure_tokenizer_json``: the file, how it came to be, and the layout facts."""

    path: Path
    how: str
    layout: TokenizerLayout


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's byte -> printable character table used by byte-level BPE (CLIP's vocabulary is written in it).

    Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 onwards in byte order.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {byte: chr(byte) for byte in printable}
    others = [byte for byte in range(256) if byte not in table]
    table.update({byte: chr(256 + n) for n, byte in enumerate(others)})
    return table


def _added_token(token_id: int, content: str, special: bool = True) -> Dict[str, Any]:
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def _bpe_model(vocab: Mapping[str, int], merges: Sequence[Merge], **options: Any) -> Dict[str, Any]:
    return {"type": "BPE", "dropout": None, **options, "ignore_merges": False,
            "vocab": dict(vocab), "merges": [list(merge) for merge in merges]}


def _layout_sections(length: int, side: str, pad_id: int, pad_token: str) -> Dict[str, Any]:
    return {
        "truncation": {"direction": "Right", "max_length": length, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": length}, "direction": side.capitalize(), "pad_to_multiple_of": None,
                    "pad_id": pad_id, "pad_type_id": 0, "pad_token": pad_token},
    }


def clip_tokenizer_json(vocab: Mapping[str, int], merges: Sequence[Merge], *,
                        bos_token: str = CLIP_SPECIALS["bos_token"], eos_token: str = CLIP_SPECIALS["eos_token"],
                        unk_token: str = CLIP_SPECIALS["unk_token"], pad_token: str = CLIP_SPECIALS["pad_token"],
                        pad_side: str = "right") -> Dict[str, Any]:
    """The ``tokenizer.json`` document of a CLIP tokenizer (``CLIPTokenizerFast``) over ``vocab`` and ``merges``.

    Every special token is an added token, as transformers registers them; a pad token that is an ordinary
    vocabulary entry (OpenCLIP's "!", id 0) is therefore split out of the text as that id, like transformers.
    """
    specials = list(dict.fromkeys([bos_token, eos_token, unk_token, pad_token]))
    missing = [token for token in specials if token not in vocab]
    if missing:
        raise TokenizerError(f"CLIP special tokens {missing} are not in vocab.json")
    return {
        "version": "1.0",
        **_layout_sections(TEXT_LENGTHS[CLIP], pad_side, vocab[pad_token], pad_token),
        "added_tokens": sorted((_added_token(vocab[token], token) for token in specials), key=lambda t: t["id"]),
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
            {"type": "Lowercase"},
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": CLIP_PATTERN}, "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        ]},
        "post_processor": {"type": "RobertaProcessing", "sep": [eos_token, vocab[eos_token]],
                           "cls": [bos_token, vocab[bos_token]], "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": _bpe_model(vocab, merges, unk_token=unk_token, continuing_subword_prefix="",
                            end_of_word_suffix=END_OF_WORD, fuse_unk=False, byte_fallback=False),
    }


def gemma_tokenizer_json(vocab: Mapping[str, int], merges: Sequence[Merge], *,
                         added_tokens: Optional[Sequence[Tuple[str, bool]]] = None,
                         bos_token: str = GEMMA_SPECIALS["bos_token"], unk_token: str = GEMMA_SPECIALS["unk_token"],
                         pad_token: str = GEMMA_SPECIALS["pad_token"], pad_side: str = "left") -> Dict[str, Any]:
    """The ``tokenizer.json`` document of a Gemma tokenizer (``GemmaTokenizerFast``) over ``vocab`` and ``merges``.

    ``added_tokens`` are ``(content, special)`` pairs of vocabulary entries matched before the model (default:
    every ``<...>`` entry below the first byte token, special).
    """
    if added_tokens is None:
        first_byte = vocab.get("<0x00>", len(vocab))
        added_tokens = [(token, True) for token, token_id in vocab.items()
                        if token_id < first_byte and token.startswith("<") and token.endswith(">")]
    wanted = (bos_token, unk_token, pad_token, *(token for token, _ in added_tokens))
    missing = [token for token in wanted if token not in vocab]
    if missing:
        raise TokenizerError(f"Gemma tokens {missing} are not in the vocabulary")
    bos_id = vocab[bos_token]
    return {
        "version": "1.0",
        **_layout_sections(TEXT_LENGTHS[GEMMA], pad_side, vocab[pad_token], pad_token),
        "added_tokens": sorted((_added_token(vocab[token], token, special) for token, special in added_tokens),
                               key=lambda t: t["id"]),
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": SPACE_MARK},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos_token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos_token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos_token, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos_token: {"id": bos_token, "ids": [bos_id], "tokens": [bos_token]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE_MARK}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
        ]},
        "model": _bpe_model(vocab, merges, unk_token=unk_token, continuing_subword_prefix=None,
                            end_of_word_suffix=None, fuse_unk=True, byte_fallback=True),
    }


def _write_json(document: Mapping[str, Any], path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_clip_tokenizer_json(vocab: Mapping[str, int], merges: Sequence[Merge], path, **special_tokens: str) -> Path:
    """Write a CLIP ``tokenizer.json`` (see ``clip_tokenizer_json`` for the ``special_tokens`` keywords)."""
    return _write_json(clip_tokenizer_json(vocab, merges, **special_tokens), path)


def write_gemma_tokenizer_json(vocab: Mapping[str, int], merges: Sequence[Merge], path, **special_tokens: Any) -> Path:
    """Write a Gemma ``tokenizer.json`` (see ``gemma_tokenizer_json`` for the keywords)."""
    return _write_json(gemma_tokenizer_json(vocab, merges, **special_tokens), path)


# ---------------------------------------------------------------------------------------------------------------
# Reference encoder (the semantics of the Rust library for these two kinds)


def bpe(symbols: Sequence[str], ranks: Mapping[Merge, int]) -> List[str]:
    """Merge adjacent symbols, always the pair of lowest rank first (leftmost on ties), until none applies."""
    word = list(symbols)
    while len(word) > 1:
        best = min(range(len(word) - 1), key=lambda i: (ranks.get((word[i], word[i + 1]), len(ranks)), i))
        if (word[best], word[best + 1]) not in ranks:
            break
        word[best:best + 2] = [word[best] + word[best + 1]]
    return word


def clip_split(text: str) -> List[str]:
    """The pieces of (normalized) ``text`` that match ``CLIP_PATTERN``; whitespace between them is dropped."""
    def category(char: str) -> str:
        return "s" if char.isspace() else unicodedata.category(char)[0]

    pieces, i = [], 0
    while i < len(text):
        contraction = next((c for c in CLIP_CONTRACTIONS if text.startswith(c, i)), None)
        kind = category(text[i])
        if contraction is not None:
            end = i + len(contraction)
        elif kind == "L":
            end = i + 1
            while end < len(text) and category(text[end]) == "L":
                end += 1
        elif kind == "N":
            end = i + 1
        elif kind == "s":
            i += 1
            continue
        else:
            end = i + 1
            while end < len(text) and category(text[end]) not in ("L", "N", "s"):
                end += 1
        pieces.append(text[i:end])
        i = end
    return pieces


def _split_added(text: str, added: Iterable[str]) -> List[Tuple[str, bool]]:
    """``text`` cut into (piece, is_added_token) with the longest added token matched first, left to right."""
    contents = sorted(added, key=len, reverse=True)
    sections: List[Tuple[str, bool]] = []
    start = i = 0
    while i < len(text):
        match = next((c for c in contents if text.startswith(c, i)), None)
        if match is None:
            i += 1
            continue
        if start < i:
            sections.append((text[start:i], False))
        sections.append((match, True))
        i += len(match)
        start = i
    if start < len(text):
        sections.append((text[start:], False))
    return sections


def tokenizer_kind(document: Mapping[str, Any]) -> str:
    """``clip`` or ``gemma`` for a document written by this module (by its model options)."""
    model = document["model"]
    if model.get("end_of_word_suffix") == END_OF_WORD:
        return CLIP
    if model.get("byte_fallback"):
        return GEMMA
    raise TokenizerError("not a CLIP or Gemma tokenizer.json")


def reference_encode(document: Mapping[str, Any], text: str,
                     add_special_tokens: bool = True) -> Tuple[List[int], List[str]]:
    """Token ids and token strings of ``text`` under a ``clip`` or ``gemma`` document, without truncation or padding."""
    kind = tokenizer_kind(document)
    model = document["model"]
    vocab: Dict[str, int] = dict(model["vocab"])
    added = {token["content"]: token["id"] for token in document["added_tokens"]}
    ranks = {tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ", 1)): rank
             for rank, merge in enumerate(model["merges"])}
    byte_chars = bytes_to_unicode()
    tokens: List[str] = []
    for section, is_added in _split_added(text, added):
        if is_added:
            tokens.append(section)
        elif kind == CLIP:
            for piece in clip_split(unicodedata.normalize("NFC", section).lower()):
                symbols = [byte_chars[b] for b in piece.encode("utf-8")]
                symbols[-1] += END_OF_WORD
                tokens.extend(t if t in vocab else model["unk_token"] for t in bpe(symbols, ranks))
        else:
            for token in bpe(list(section.replace(" ", SPACE_MARK)), ranks):
                if token in vocab:
                    tokens.append(token)
                else:
                    tokens.extend(f"<0x{b:02X}>" for b in token.encode("utf-8"))
    ids = [added[t] if t in added else vocab[t] for t in tokens]
    if add_special_tokens:
        processor = document["post_processor"]
        if kind == CLIP:
            (cls, cls_id), (sep, sep_id) = processor["cls"], processor["sep"]
            ids, tokens = [cls_id, *ids, sep_id], [cls, *tokens, sep]
        else:
            bos = processor["single"][0]["SpecialToken"]["id"]
            ids, tokens = [processor["special_tokens"][bos]["ids"][0], *ids], [bos, *tokens]
    return ids, tokens


def padded_ids(document: Mapping[str, Any], text: str) -> List[int]:
    """``input_ids`` as transformers gives them (``padding="max_length"``, ``truncation=True``), using the
    document's own ``truncation`` and ``padding`` sections: content cut from the end, special tokens kept."""
    ids, _ = reference_encode(document, text)
    content, _ = reference_encode(document, text, add_special_tokens=False)
    length = document["truncation"]["max_length"]
    if len(ids) > length:  # both kinds add exactly one token before the content
        ids = ids[:1] + content[:length - (len(ids) - len(content))] + ids[1 + len(content):]
    padding = document["padding"]
    pads = [padding["pad_id"]] * (length - len(ids))
    return pads + ids if padding["direction"] == "Left" else ids + pads


# ---------------------------------------------------------------------------------------------------------------
# Synthetic tokenizers

# Instruction words and their designed BPE pieces: several split into sub-words so tests see multi-token words.
EDIT_WORDS: Dict[str, Tuple[str, ...]] = {
    "make": ("make",), "turn": ("turn",), "change": ("change",), "add": ("add",), "remove": ("re", "move"),
    "replace": ("re", "place"), "put": ("put",), "the": ("the",), "a": ("a",), "it": ("it",), "into": ("into",),
    "with": ("with",), "and": ("and",), "to": ("to",), "of": ("of",), "on": ("on",), "in": ("in",),
    "red": ("red",), "green": ("green",), "blue": ("blue",), "yellow": ("yel", "low"), "white": ("white",),
    "black": ("black",), "purple": ("pur", "ple"), "orange": ("or", "ange"), "circle": ("cir", "cle"),
    "square": ("squ", "are"), "triangle": ("tri", "angle"), "star": ("star",), "cat": ("cat",), "dog": ("dog",),
    "hat": ("hat",), "sky": ("sky",), "tree": ("tree",), "car": ("car",), "background": ("back", "ground"),
    "umbrella": ("um", "bre", "lla"), "cafe": ("caf", "e"),
}
# Words that start an instruction: Gemma has them without the space mark too (there is no dummy prefix).
GEMMA_LEADING_WORDS = ("make", "turn", "change", "add", "remove", "replace", "put")
GEMMA_BASE_CHARS = SPACE_MARK + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-"
GEMMA_CONTROL_TOKENS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>", *GEMMA_TURN_TOKENS)


class _MergeLearner:
    """Merges and vocabulary grown piece by piece: each piece is first encoded with the merges so far, then
    its remaining tokens are merged left to right, so pieces learnt earlier keep their segmentation."""

    def __init__(self, vocab: Dict[str, int]):
        self.vocab = vocab
        self.merges: List[Merge] = []
        self.ranks: Dict[Merge, int] = {}

    def learn(self, symbols: Sequence[str]) -> None:
        """Add the merges that make ``symbols`` one token."""
        tokens = bpe(symbols, self.ranks)
        current = tokens[0]
        for token in tokens[1:]:
            self.ranks[(current, token)] = len(self.merges)
            self.merges.append((current, token))
            current += token
            self.vocab.setdefault(current, len(self.vocab))


def _check_design(document: Mapping[str, Any], expected: Mapping[str, List[str]]) -> None:
    for text, pieces in expected.items():
        _, tokens = reference_encode(document, text, add_special_tokens=False)
        if tokens != pieces:
            raise AssertionError(f"synthetic vocabulary splits {text!r} into {tokens}, designed {pieces}")


def synthetic_clip_vocab(words: Mapping[str, Sequence[str]] = EDIT_WORDS) -> Tuple[Dict[str, int], List[Merge]]:
    """A CLIP-style vocabulary laid out like OpenAI's: the 256 byte characters, the same with ``</w>``, the
    merged tokens in merge order, then ``<|startoftext|>`` and ``<|endoftext|>`` (the largest id, which
    CLIP's legacy pooling finds by argmax)."""
    byte_chars = bytes_to_unicode()
    characters = list(byte_chars.values())
    vocab = {token: i for i, token in enumerate(characters + [c + END_OF_WORD for c in characters])}
    learner = _MergeLearner(vocab)
    for pieces in words.values():
        for index, piece in enumerate(pieces):
            symbols = [byte_chars[b] for b in piece.encode("utf-8")]
            if index == len(pieces) - 1:
                symbols[-1] += END_OF_WORD
            learner.learn(symbols)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, learner.merges


def synthetic_gemma_vocab(words: Mapping[str, Sequence[str]] = EDIT_WORDS) -> Tuple[Dict[str, int], List[Merge]]:
    """A Gemma-style vocabulary laid out like the real one: control tokens (``<pad>`` 0, ``<eos>`` 1, ``<bos>`` 2,
    ``<unk>`` 3, ...), the 256 byte tokens ``<0x00>``..``<0xFF>``, single characters, then merged tokens."""
    vocab = {token: i for i, token in enumerate(GEMMA_CONTROL_TOKENS)}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for char in GEMMA_BASE_CHARS:
        vocab[char] = len(vocab)
    learner = _MergeLearner(vocab)
    for word, pieces in words.items():
        variants = [(SPACE_MARK + pieces[0], *pieces[1:])]
        if word in GEMMA_LEADING_WORDS:
            variants.append(tuple(pieces))
        for variant in variants:
            for piece in variant:
                learner.learn(list(piece))
    return vocab, learner.merges


def _config_token(value: Any) -> Optional[str]:
    return value.get("content") if isinstance(value, dict) else value


def synthetic_clip_tokenizer(folder, words: Mapping[str, Sequence[str]] = EDIT_WORDS,
                             pad_token: str = "!") -> TokenizerLayout:
    """Write a small CLIP tokenizer as the released snapshot's ``tokenizer/`` folder has it: only the slow files
    ``vocab.json``, ``merges.txt``, ``special_tokens_map.json`` and ``tokenizer_config.json`` (pad "!" as
    OpenCLIP, id 0). Returns its layout; ``vocab_size`` is what a matching text encoder needs."""
    folder = Path(folder)
    vocab, merges = synthetic_clip_vocab(words)
    _check_design(clip_tokenizer_json(vocab, merges, pad_token=pad_token),
                  {word: [*pieces[:-1], pieces[-1] + END_OF_WORD] for word, pieces in words.items()})
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(vocab, folder / "vocab.json")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    specials = {**CLIP_SPECIALS, "pad_token": pad_token}
    _write_json(specials, folder / "special_tokens_map.json")
    _write_json({**specials, "tokenizer_class": "CLIPTokenizer", "model_max_length": TEXT_LENGTHS[CLIP],
                 "do_lower_case": True, "errors": "replace", "add_prefix_space": False},
                folder / "tokenizer_config.json")
    return _layout(CLIP, vocab, specials, "right")


def synthetic_gemma_tokenizer(folder, words: Mapping[str, Sequence[str]] = EDIT_WORDS) -> TokenizerLayout:
    """Write a small Gemma tokenizer folder (``tokenizer.json``, ``tokenizer_config.json``,
    ``special_tokens_map.json``; no ``tokenizer.model``). Returns its layout (``vocab_size`` for the encoder)."""
    folder = Path(folder)
    vocab, merges = synthetic_gemma_vocab(words)
    document = gemma_tokenizer_json(vocab, merges)
    designed = {" " + word: [SPACE_MARK + pieces[0], *pieces[1:]] for word, pieces in words.items()}
    designed.update({word: list(words[word]) for word in GEMMA_LEADING_WORDS})
    _check_design(document, designed)
    _write_json(document, folder / "tokenizer.json")
    _write_json(GEMMA_SPECIALS, folder / "special_tokens_map.json")
    _write_json({**GEMMA_SPECIALS, "tokenizer_class": "GemmaTokenizer", "add_bos_token": True, "add_eos_token": False,
                 "padding_side": "left", "model_max_length": 1000000000000000019884624838656},
                folder / "tokenizer_config.json")
    return _layout(GEMMA, vocab, GEMMA_SPECIALS, "left")


# ---------------------------------------------------------------------------------------------------------------
# Released folders


def _layout(kind: str, vocab: Mapping[str, int], specials: Mapping[str, str], pad_side: str) -> TokenizerLayout:
    missing = [specials[name] for name in ("pad_token", "bos_token", "eos_token") if specials[name] not in vocab]
    if missing:
        raise TokenizerError(f"{kind} tokenizer: special tokens {missing} have no id in the vocabulary")
    return TokenizerLayout(kind=kind, max_length=TEXT_LENGTHS[kind], pad_token_id=vocab[specials["pad_token"]],
                           pad_side=pad_side, bos_token_id=vocab[specials["bos_token"]],
                           eos_token_id=vocab[specials["eos_token"]], vocab_size=max(vocab.values()) + 1)


def _read_json(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _folder_specials(folder: Path, kind: str) -> Tuple[Dict[str, str], str]:
    """Special tokens and pad side from ``special_tokens_map.json`` and ``tokenizer_config.json`` (the config wins),
    falling back to the tokenizer class's defaults."""
    defaults = CLIP_SPECIALS if kind == CLIP else GEMMA_SPECIALS
    config = {**_read_json(folder / "special_tokens_map.json"), **_read_json(folder / "tokenizer_config.json")}
    specials = {name: _config_token(config.get(name)) or default for name, default in defaults.items()}
    return specials, config.get("padding_side", DEFAULT_PAD_SIDES[kind])


def read_clip_slow_files(folder) -> Tuple[Dict[str, int], List[Merge]]:
    """``vocab.json`` and ``merges.txt`` as the slow ``CLIPTokenizer`` reads them (the ``#version`` header line
    skipped, at most ``CLIP_MAX_MERGES`` merges)."""
    folder = Path(folder)
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    lines = (folder / "merges.txt").read_text(encoding="utf-8").strip().split("\n")
    if lines and lines[0].startswith("#version"):
        lines = lines[1:]
    merges = [tuple(line.split(" ")) for line in lines[:CLIP_MAX_MERGES] if line]
    bad = [" ".join(merge) for merge in merges if len(merge) != 2]
    if bad:
        raise TokenizerError(f"{folder / 'merges.txt'}: lines {bad[:3]} are not 'left right' pairs")
    return vocab, merges


def ensure_tokenizer_json(folder, kind: str, out=None) -> EnsuredTokenizer:
    """The ``tokenizer.json`` of a released tokenizer folder, written to ``out`` when the folder lacks one.

    ``out`` defaults to ``tokenizer.json`` in ``folder``; the converter passes a path inside the package it
    writes, so the snapshot is never modified.

    ``kind`` is ``clip`` (the snapshot's ``tokenizer/``) or ``gemma`` (``llm_encoder/``). An existing
    ``tokenizer.json`` is used as is. CLIP's slow files (``vocab.json`` + ``merges.txt``) and Gemma's
    SentencePiece ``tokenizer.model`` are converted the way transformers converts them. Special tokens, pad
    token and pad side come from ``special_tokens_map.json``/``tokenizer_config.json`` or the class defaults.

    Returns ``(path, how, layout)``: ``how`` is a sentence for the conversion report, ``layout`` the pad id,
    pad side, length (77 / 256) and bos/eos ids the manifest needs.

    Raises ``TokenizerError`` when the folder has none of these files or holds the other kind.
    """
    if kind not in TEXT_LENGTHS:
        raise ValueError(f"kind must be {CLIP!r} or {GEMMA!r}, not {kind!r}")
    folder = Path(folder)
    path = folder / "tokenizer.json"
    specials, pad_side = _folder_specials(folder, kind)
    written = Path(out) if out is not None else path
    if path.is_file():
        document = json.loads(path.read_text(encoding="utf-8"))
        if tokenizer_kind(document) != kind:
            raise TokenizerError(f"{path} is a {tokenizer_kind(document)} tokenizer, not {kind}: swapped folders?")
        vocab = {**document["model"]["vocab"], **{t["content"]: t["id"] for t in document.get("added_tokens", [])}}
        return EnsuredTokenizer(path, "", _layout(kind, vocab, specials, pad_side))
    if kind == CLIP and (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        vocab, merges = read_clip_slow_files(folder)
        write_clip_tokenizer_json(vocab, merges, written, **specials, pad_side=pad_side)
        how = (f"{written.name} written from {folder}/vocab.json ({len(vocab)} tokens) and merges.txt "
               f"({len(merges)} merges) as CLIPTokenizerFast converts them; pad token {specials['pad_token']!r}")
        return EnsuredTokenizer(written, how, _layout(kind, vocab, specials, pad_side))
    if kind == GEMMA and (folder / "tokenizer.model").is_file():
        document = gemma_tokenizer_json_from_sentencepiece(folder / "tokenizer.model", specials, pad_side)
        _write_json(document, written)
        vocab = document["model"]["vocab"]
        merges = len(document["model"]["merges"])
        how = (f"{written.name} written from {folder}/tokenizer.model ({len(vocab)} pieces, {merges} merges "
               "derived from piece scores) as GemmaTokenizerFast converts it")
        return EnsuredTokenizer(written, how, _layout(kind, vocab, specials, pad_side))
    wanted = "vocab.json + merges.txt" if kind == CLIP else "tokenizer.model"
    raise TokenizerError(
        f"{folder} has no tokenizer.json and no {wanted}; produce tokenizer.json with transformers: "
        f"AutoTokenizer.from_pretrained('{folder}').save_pretrained('{folder}') (a fast tokenizer writes it)")


# ---------------------------------------------------------------------------------------------------------------
# SentencePiece (tokenizer.model) -> Gemma tokenizer.json

# SentencePiece piece types (NORMAL, UNKNOWN, CONTROL, USER_DEFINED; UNUSED 5 and BYTE 6 need no care here).
SP_NORMAL, SP_UNKNOWN, SP_CONTROL, SP_USER_DEFINED = 1, 2, 3, 4
SP_BPE = 2


def _varint(data: bytes, pos: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> Iterable[Tuple[int, Any]]:
    """(field number, value) of a protobuf message: ints for varints, bytes for length-delimited, raw 4/8 bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise TokenizerError(f"tokenizer.model: unsupported protobuf wire type {wire}")
        yield number, value


@dataclass(frozen=True)
class SentencePieceModel:
    """The parts of a SentencePiece ``ModelProto`` that the conversion needs."""

    pieces: List[Tuple[str, float, int]]
    model_type: int
    byte_fallback: bool
    unk_piece: str
    add_dummy_prefix: bool


def read_sentencepiece(data: bytes) -> SentencePieceModel:
    """Parse a SentencePiece ``tokenizer.model`` (``ModelProto``: pieces = 1 with piece/score/type, trainer_spec
    = 2 with model_type = 3, byte_fallback = 35, unk_piece = 45; normalizer_spec = 3 with add_dummy_prefix = 3).
    Absent fields take the proto defaults."""
    pieces, model_type, byte_fallback, unk_piece, add_dummy_prefix = [], 1, False, "<unk>", True
    for number, value in _fields(data):
        if number == 1:
            piece, score, kind = "", 0.0, SP_NORMAL
            for field, item in _fields(value):
                if field == 1:
                    piece = item.decode("utf-8")
                elif field == 2:
                    score = struct.unpack("<f", item)[0]
                elif field == 3:
                    kind = item
            pieces.append((piece, score, kind))
        elif number == 2:
            for field, item in _fields(value):
                if field == 3:
                    model_type = item
                elif field == 35:
                    byte_fallback = bool(item)
                elif field == 45:
                    unk_piece = item.decode("utf-8")
        elif number == 3:
            for field, item in _fields(value):
                if field == 3:
                    add_dummy_prefix = bool(item)
    return SentencePieceModel(pieces, model_type, byte_fallback, unk_piece, add_dummy_prefix)


def merges_from_scores(lookup: Mapping[str, int], scored: Sequence[Tuple[str, float]]) -> List[Merge]:
    """BPE merges from SentencePiece piece scores, as transformers' ``generate_merges``: every split of every
    piece into two known pieces, ordered by the piece's score (highest first), then the halves' lengths."""
    merges = []
    for piece, score in scored:
        local = [(piece[:i], piece[i:], score) for i in range(1, len(piece))
                 if piece[:i] in lookup and piece[i:] in lookup]
        merges.extend(sorted(local, key=lambda m: (lookup[m[0]], lookup[m[1]])))
    merges.sort(key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return [(left, right) for left, right, _ in merges]


def gemma_tokenizer_json_from_sentencepiece(model_path, specials: Mapping[str, str] = GEMMA_SPECIALS,
                                            pad_side: str = "left") -> Dict[str, Any]:
    """Convert Gemma's SentencePiece ``tokenizer.model`` like transformers' ``GemmaConverter``: ids 0-2 are the
    pad/eos/bos tokens, ``<0x09>`` is stored as a literal tab, merges come from the scores, control and
    user-defined pieces become added tokens (control, unknown and the turn tokens special)."""
    model = read_sentencepiece(Path(model_path).read_bytes())
    if model.model_type != SP_BPE or not model.byte_fallback or model.add_dummy_prefix:
        raise TokenizerError(f"{model_path} is not a byte-fallback BPE SentencePiece model without dummy prefix "
                             "(Gemma's kind); produce tokenizer.json with transformers instead")
    scored = [(specials["pad_token"], 0.0), (specials["eos_token"], 0.0), (specials["bos_token"], 0.0)]
    scored += [("\t" if piece == "<0x09>" else piece, score) for piece, score, _ in model.pieces[3:]]
    lookup = {piece: i for i, (piece, _, _) in enumerate(model.pieces)}
    if "<0x09>" in lookup:
        lookup["\t"] = lookup["<0x09>"]
    vocab = {piece: i for i, (piece, _) in enumerate(scored)}
    added = [(piece, kind in (SP_UNKNOWN, SP_CONTROL) or piece in GEMMA_TURN_TOKENS)
             for piece, _, kind in model.pieces if kind in (SP_UNKNOWN, SP_CONTROL, SP_USER_DEFINED)]
    return gemma_tokenizer_json(vocab, merges_from_scores(lookup, scored), added_tokens=added,
                                bos_token=specials["bos_token"], unk_token=model.unk_piece,
                                pad_token=specials["pad_token"], pad_side=pad_side)


# ---------------------------------------------------------------------------------------------------------------
# Fixtures for the TypeScript tests

FIXTURE_TEXTS = (
    "Make the red circle blue",
    "  Make   the RED\tcircle\n BLUE  ",
    "replace the umbrella with a yellow triangle",
    "put a purple hat on the cat!",
    "make the caf\u00e9 orange",
    "add a \U0001F431 to the background",
    "turn it's sky 2 green",
)


def write_fixtures(root) -> Dict[str, TokenizerLayout]:
    """Write ``clip/`` (slow files + the converted ``tokenizer.json``), ``gemma/`` and ``cases.json`` (the
    reference encoder's padded ids for ``FIXTURE_TEXTS``) under ``root``."""
    root = Path(root)
    synthetic_clip_tokenizer(root / "clip")
    clip = ensure_tokenizer_json(root / "clip", CLIP)
    synthetic_gemma_tokenizer(root / "gemma")
    gemma = ensure_tokenizer_json(root / "gemma", GEMMA)
    cases = {}
    for name, ensured in ((CLIP, clip), (GEMMA, gemma)):
        document = json.loads(ensured.path.read_text(encoding="utf-8"))
        cases[name] = {"layout": ensured.layout.to_json(), "cases": [
            {"text": text, "tokens": reference_encode(document, text)[1], "ids": padded_ids(document, text)}
            for text in FIXTURE_TEXTS]}
    _write_json(cases, root / "cases.json")
    return {CLIP: clip.layout, GEMMA: gemma.layout}


if __name__ == "__main__":
    for kind, layout in write_fixtures(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tokenizers").items():
        print(kind, layout)
