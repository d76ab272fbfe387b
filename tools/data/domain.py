"""The shapes-editing domain: palette, shapes, positions, edit phrasings and what is held out.

Everything the generator, the tokenizer and the evaluation set agree on lives here, once.
"""

IMAGE_SIZE = 64
"""Side of every generated image in pixels (square RGB)."""

COLORS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
"""Palette colour names and their sRGB values, used for shapes and backgrounds alike."""

SHAPES = ("circle", "square", "triangle", "star")
"""Shape names the generator draws."""

POSITIONS = {
    "top left": ("at the top left", (12, 12)),
    "top": ("at the top", (32, 12)),
    "top right": ("at the top right", (52, 12)),
    "left": ("on the left", (12, 32)),
    "center": ("in the center", (32, 32)),
    "right": ("on the right", (52, 32)),
    "bottom left": ("at the bottom left", (12, 52)),
    "bottom": ("at the bottom", (32, 52)),
    "bottom right": ("at the bottom right", (52, 52)),
}
"""Named positions for "add": (phrase used in instructions, pixel centre (x, y))."""

ADD_RADIUS = 9.0
"""Size (circumradius in pixels) of a shape placed by an "add" edit: fixed, so the target is unique."""

EDIT_TYPES = ("recolor", "remove", "add", "replace", "background")
"""The five edit types, in a fixed order."""

PHRASINGS = {
    "recolor": (
        "make the {obj} {color}",
        "paint the {obj} {color}",
        "change the color of the {obj} to {color}",
        "turn the {obj} {color}",
        "color the {obj} {color}",
        "the {obj} should be {color}",
    ),
    "remove": (
        "remove the {obj}",
        "delete the {obj}",
        "erase the {obj}",
        "take away the {obj}",
        "get rid of the {obj}",
    ),
    "add": (
        "add a {color} {shape} {position}",
        "put a {color} {shape} {position}",
        "draw a {color} {shape} {position}",
        "place a {color} {shape} {position}",
    ),
    "replace": (
        "turn the {obj} into a {shape}",
        "change the {obj} into a {shape}",
        "replace the {obj} with a {shape}",
        "make the {obj} a {shape}",
        "swap the {obj} for a {shape}",
    ),
    "background": (
        "make the background {color}",
        "change the background to {color}",
        "paint the background {color}",
        "set the background color to {color}",
        "use a {color} background",
    ),
}
"""Instruction templates per edit type. The LAST template of each type is held out of training."""

HELD_OUT_COMBOS = frozenset(
    {
        ("recolor", "purple", "star"),
        ("recolor", "green", "triangle"),
        ("recolor", "orange", "square"),
        ("remove", "orange", "circle"),
        ("remove", "white", "star"),
        ("remove", "blue", "triangle"),
        ("add", "blue", "star"),
        ("add", "red", "triangle"),
        ("add", "yellow", "square"),
        ("replace", "yellow", "circle"),
        ("replace", "purple", "square"),
        ("replace", "black", "star"),
        ("background", "orange", "blue"),
        ("background", "white", "green"),
        ("background", "black", "yellow"),
    }
)
"""(edit type, colour, shape-or-colour) triples never seen in training.

recolor: (new colour, shape); remove: (colour, shape); add: (colour, shape);
replace: (object colour, new shape); background: (new colour, old background colour).
"""

GENERIC_WORDS = (
    "a", "an", "the", "to", "of", "with", "and", "please", "it", "one", "shape", "object", "image", "picture",
    ".", ",", "!",
)
"""A few words outside the templates, so the tokenizer does not map every such word to [UNK]."""


def is_held_out_phrasing(edit_type: str, template_index: int) -> bool:
    """True when template number `template_index` of `edit_type` is the held-out phrasing."""
    return template_index == len(PHRASINGS[edit_type]) - 1


def combo_key(edit_type: str, first: str, second: str) -> tuple:
    """The (type, a, b) key compared against HELD_OUT_COMBOS (see its doc for what a and b are)."""
    return (edit_type, first, second)


def vocabulary() -> list:
    """Every word a training instruction can contain, sorted, plus a few generic words.

    Built from the training templates only, as a tokenizer fitted to the training corpus would be: words
    that occur only in the held-out phrasings ("should", "rid", "swap", ...) become [UNK], so the
    held-out-phrasing figure measures robustness to unseen words rather than to untrained embeddings.
    """
    words = set(GENERIC_WORDS)
    words.update(COLORS)
    words.update(SHAPES)
    for phrase, _ in POSITIONS.values():
        words.update(phrase.split())
    for edit_type, templates in PHRASINGS.items():
        for index, template in enumerate(templates):
            if is_held_out_phrasing(edit_type, index):
                continue
            words.update(word for word in template.split() if not word.startswith("{"))
    return sorted(words)


OBJECT_EDITS = ("recolor", "remove", "replace")
"""Edit types whose instruction names an existing object ("red circle" or just "circle")."""


def names_object_by_shape(instruction: str, edit_type: str) -> bool:
    """True when an object edit's instruction names its object by shape alone ("make the circle blue"),
    false when by colour and shape ("make the red circle blue") and for add and background edits."""
    colours = sum(word in COLORS for word in instruction.split())
    return edit_type in OBJECT_EDITS and colours == (1 if edit_type == "recolor" else 0)


def content_words() -> frozenset:
    """Words that carry an edit's arguments (colours, shapes, positions, "background"); the rest is phrasing."""
    return frozenset({*COLORS, *SHAPES, "background", *" ".join(POSITIONS).split()})
