"""Word-level tokenizer of the tiny model, written as a HuggingFace ``tokenizer.json``.

Pipeline (identical in the JSON and in ``WordTokenizer.encode``): Lowercase normalizer, BERT
pre-tokenizer (split on whitespace, every punctuation character its own token), then one id per
whole word, ``[UNK]`` for words outside the vocabulary; ``[PAD]`` = 0 right-pads to the text length.

The model entry is a ``WordPiece`` model whose vocabulary holds only whole words (no ``##`` pieces),
which makes it behave exactly like a word-level model: a word is either in the vocabulary or becomes
``[UNK]``. It is written that way because @huggingface/tokenizers (the JS library the product uses)
has no ``WordLevel`` class: it falls back to a "Legacy" model that only knows ``[UNK]`` when the caller
passes a separate tokenizer_config.json, whereas WordPiece carries ``unk_token`` in tokenizer.json.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1


def _is_punctuation(char: str) -> bool:
    """BERT's rule: ASCII symbols and every Unicode punctuation character."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def pre_tokenize(text: str) -> List[Tuple[str, int, int]]:
    """Lowercased words and punctuation marks with their (start, end) character offsets in `text`."""
    pieces, start = [], None
    lowered = text.lower()
    for i, char in enumerate(lowered):
        if char.isspace() or _is_punctuation(char):
            if start is not None:
                pieces.append((lowered[start:i], start, i))
                start = None
            if not char.isspace():
                pieces.append((char, i, i + 1))
        elif start is None:
            start = i
    if start is not None:
        pieces.append((lowered[start:], start, len(lowered)))
    return pieces


@dataclass
class Encoding:
    """Token ids (padded to the text length), the tokens, and their character offsets (unpadded)."""

    ids: List[int]
    tokens: List[str]
    offsets: List[Tuple[int, int]]


class WordTokenizer:
    """Whole-word tokenizer over a fixed vocabulary; ``to_json`` gives the equivalent tokenizer.json."""

    def __init__(self, words: Sequence[str], length: int = 16):
        self.length = length
        self.vocab: Dict[str, int] = {PAD_TOKEN: PAD_ID, UNK_TOKEN: UNK_ID}
        for word in words:
            self.vocab.setdefault(word, len(self.vocab))

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return len(self.vocab)

    def encode(self, text: str) -> Encoding:
        """Ids of `text` truncated and right-padded with [PAD] to `length`."""
        pieces = pre_tokenize(text)[: self.length]
        ids = [self.vocab.get(word, UNK_ID) for word, _, _ in pieces]
        tokens = [word if word in self.vocab else UNK_TOKEN for word, _, _ in pieces]
        return Encoding(ids + [PAD_ID] * (self.length - len(ids)), tokens, [(s, e) for _, s, e in pieces])

    def encode_batch(self, texts: Sequence[str]) -> List[List[int]]:
        """Padded id lists of several texts."""
        return [self.encode(text).ids for text in texts]

    def to_json(self) -> dict:
        """The HuggingFace tokenizer.json document."""
        special = [
            {"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for token, i in ((PAD_TOKEN, PAD_ID), (UNK_TOKEN, UNK_ID))
        ]
        return {
            "version": "1.0",
            "truncation": {"direction": "Right", "max_length": self.length, "strategy": "LongestFirst", "stride": 0},
            "padding": {"strategy": {"Fixed": self.length}, "direction": "Right", "pad_to_multiple_of": None,
                        "pad_id": PAD_ID, "pad_type_id": 0, "pad_token": PAD_TOKEN},
            "added_tokens": special,
            "normalizer": {"type": "Lowercase"},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": None,
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {"type": "WordPiece", "unk_token": UNK_TOKEN, "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": self.vocab},
        }

    def save(self, path: Path) -> None:
        """Write tokenizer.json."""
        Path(path).write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path, length: int = 16) -> "WordTokenizer":
        """Read a tokenizer.json written by `save` (the vocabulary order is kept)."""
        document = json.loads(Path(path).read_text())
        vocab = document["model"]["vocab"]
        words = [w for w, _ in sorted(vocab.items(), key=lambda item: item[1]) if w not in (PAD_TOKEN, UNK_TOKEN)]
        tokenizer = cls(words, document.get("truncation", {}).get("max_length", length))
        if tokenizer.vocab != vocab:
            raise ValueError(f"{path}: vocabulary ids are not [PAD]=0, [UNK]=1, then consecutive")
        return tokenizer
