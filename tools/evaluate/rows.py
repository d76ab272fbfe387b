"""Keyword text rows and automatic lambda, as ``src/localize`` defines them (keywords.ts, auto_lambda.ts).

The tiny model's tokenizer is word-level, so row ``i`` of ``text_attention`` is the ``i``-th pre-token of
the instruction; a row is a keyword when its pre-token is a word that is neither a stop word nor an edit verb.
"""

from __future__ import annotations

import re
from typing import List, Union

import numpy as np

from editmgt.tokenizer import pre_tokenize


def _inflections(verb: str) -> List[str]:
    stem = verb[:-1] if verb.endswith("e") else verb
    return [verb, f"{verb}s", f"{verb}es", f"{verb}d", f"{verb}ed", f"{verb}ing", f"{stem}ing"]


EDIT_VERBS = frozenset(
    form
    for verb in (
        "add adjust alter apply become brighten change convert darken delete edit eliminate erase "
        "exchange get give insert keep let make modify move place put recolor recolour remove "
        "replace resize rotate set shift show swap switch take transform turn use want"
    ).split()
    for form in _inflections(verb)
)
"""Verbs that say what kind of edit to make, not where (src/localize/keywords.ts EDIT_VERBS)."""

STOP_WORDS = frozenset(
    (
        "a about above across after again all also an and any are as at be been being below between "
        "both but by can could do does each for from had has have he her here his how i if image in "
        "instead into is it its just like me more my new no not now of off on onto or other our out "
        "over photo picture please she should so some than that the their them then there these "
        "they this those through to too up us very was we were what where which while who will with "
        "would you your"
    ).split()
)
"""English function words that carry no location (src/localize/keywords.ts STOP_WORDS)."""

_WORD = re.compile(r"^\w+$")


def keyword_rows(instruction: str, length: int) -> Union[str, List[int]]:
    """Rows of the instruction's content words among the first ``length`` tokens; every word row when
    none is left, "all" when the instruction has no word at all (src/localize keywordRows)."""
    pieces = pre_tokenize(instruction)[:length]
    words = [i for i, (piece, _, _) in enumerate(pieces) if _WORD.match(piece)]
    content = [i for i in words if pieces[i][0] not in STOP_WORDS and pieces[i][0] not in EDIT_VERBS]
    return content or words or "all"


def auto_lambda(attention_map: np.ndarray, min_separability: float = 0.7, max_foreground: float = 0.5) -> float:
    """Otsu threshold of the smoothed map (transformer grid), or 0 (hold nothing) when the map has no clear
    foreground: flat, separability below ``min_separability``, or foreground over ``max_foreground``."""
    values = np.sort(np.asarray(attention_map, dtype=np.float64).reshape(-1))
    count = values.size
    if count < 2 or not values[-1] > values[0]:
        return 0.0
    total = values.sum()
    total_variance = float(((values - total / count) ** 2).mean())
    best, split, background_sum = -1.0, 0, 0.0
    for k in range(count - 1):
        background_sum += values[k]
        if values[k] == values[k + 1]:
            continue
        weight = (k + 1) / count
        difference = background_sum / (k + 1) - (total - background_sum) / (count - k - 1)
        between = weight * (1 - weight) * difference * difference
        if between > best:
            best, split = between, k
    foreground = (count - split - 1) / count
    if best / total_variance < min_separability or foreground > max_foreground:
        return 0.0
    return float(min(1.0, max(0.0, (values[split] + values[split + 1]) / 2)))
