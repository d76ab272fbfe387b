"""Keyword text rows, as ``src/localize/keywords.ts`` defines them (``lambda: "auto"`` is
``tools.editmgt.localization.auto_lambda``).

The tiny model's tokenizer is word-level, so row ``i`` of ``text_attention`` is the ``i``-th pre-token of
the instruction; a row is a keyword when its pre-token is a word that is neither a stop word nor an edit verb.
"""

from __future__ import annotations

import re
from typing import List, Union

from tools.editmgt.tokenizer import pre_tokenize


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
