"""Seeded generator of (source, instruction, target, edit mask) pairs for the five edit types.

Edits are first chosen as parameters (cheap), checked against the held-out lists, then rendered, so the
rejection sampling that keeps the training split clean of held-out combinations costs almost nothing.
"""

from dataclasses import dataclass

import numpy as np

from .domain import (
    ADD_RADIUS,
    COLORS,
    EDIT_TYPES,
    HELD_OUT_COMBOS,
    IMAGE_SIZE,
    PHRASINGS,
    POSITIONS,
    SHAPES,
    is_held_out_phrasing,
)
from .render import Scene, Shape, coverage, render

COLOR_NAMES = tuple(COLORS)
MIN_RADIUS, MAX_RADIUS = 7.0, 12.0
GAP = 2.0


@dataclass(frozen=True)
class EditPlan:
    """An edit before rendering: source and target scenes, instruction and what it touches."""

    edit_type: str
    source: Scene
    target: Scene
    instruction: str
    combo: tuple
    template_index: int
    touched: tuple  # shapes whose coverage makes up the edit mask (source and target side)
    target_object: object  # the shape the target should contain (None for remove/background)

    @property
    def held_out_combo(self) -> bool:
        """True when the (type, colour, shape) triple is one of the held-out combinations."""
        return self.combo in HELD_OUT_COMBOS

    @property
    def held_out_phrasing(self) -> bool:
        """True when the instruction uses the held-out template of its edit type."""
        return is_held_out_phrasing(self.edit_type, self.template_index)


@dataclass(frozen=True)
class EditPair:
    """A rendered edit: uint8 RGB source and target [H, W, 3], bool edit mask [H, W], and its plan."""

    source: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    plan: EditPlan


def _free(shapes, cx: float, cy: float, radius: float) -> bool:
    return all(np.hypot(cx - s.cx, cy - s.cy) > radius + s.radius + GAP for s in shapes)


def _sample_scene(rng: np.random.Generator, count: int) -> Scene:
    """A background and `count` shapes with distinct kinds and colours, none in the background colour."""
    while True:
        colors = rng.permutation(len(COLOR_NAMES))
        bg = COLOR_NAMES[colors[0]]
        kinds = rng.permutation(len(SHAPES))[:count]
        shapes = []
        for i, kind in enumerate(kinds):
            for _ in range(50):
                radius = float(rng.uniform(MIN_RADIUS, MAX_RADIUS))
                low, high = radius + GAP, IMAGE_SIZE - radius - GAP
                cx, cy = float(rng.uniform(low, high)), float(rng.uniform(low, high))
                if _free(shapes, cx, cy, radius):
                    shapes.append(Shape(SHAPES[kind], COLOR_NAMES[colors[1 + i]], cx, cy, radius))
                    break
        if len(shapes) == count:
            angle = float(rng.uniform(0, 2 * np.pi))
            amplitude = float(rng.uniform(0, 10))
            return Scene(bg, angle, amplitude, tuple(shapes))


def _refer(rng: np.random.Generator, shape: Shape) -> str:
    """A unique referring expression ("red circle" or "circle": kinds are unique within a scene)."""
    return f"{shape.color} {shape.kind}" if rng.random() < 0.7 else shape.kind


def _pick(rng: np.random.Generator, options) -> str:
    options = list(options)
    return options[rng.integers(len(options))]


def _plan(rng: np.random.Generator, edit_type: str, template_index: int):
    """One random plan of `edit_type` with the given template, or None when the scene does not allow it."""
    template = PHRASINGS[edit_type][template_index]
    count = int(rng.integers(1, 3)) if edit_type == "add" else int(rng.integers(1, 4))
    scene = _sample_scene(rng, count)
    used_colors = {scene.background} | {s.color for s in scene.shapes}
    used_kinds = {s.kind for s in scene.shapes}
    victim = scene.shapes[rng.integers(len(scene.shapes))]
    others = [s for s in scene.shapes if s is not victim]
    if edit_type == "recolor":
        color = _pick(rng, set(COLOR_NAMES) - used_colors)
        new = Shape(victim.kind, color, victim.cx, victim.cy, victim.radius)
        target = scene.with_shapes(new if s is victim else s for s in scene.shapes)
        text = template.format(obj=_refer(rng, victim), color=color)
        return EditPlan(edit_type, scene, target, text, (edit_type, color, victim.kind), template_index, (victim,), new)
    if edit_type == "remove":
        target = scene.with_shapes(others)
        text = template.format(obj=_refer(rng, victim))
        return EditPlan(
            edit_type, scene, target, text, (edit_type, victim.color, victim.kind), template_index, (victim,), None
        )
    if edit_type == "replace":
        kind = _pick(rng, set(SHAPES) - used_kinds)
        new = Shape(kind, victim.color, victim.cx, victim.cy, victim.radius)
        target = scene.with_shapes(new if s is victim else s for s in scene.shapes)
        text = template.format(obj=_refer(rng, victim), shape=kind)
        return EditPlan(
            edit_type, scene, target, text, (edit_type, victim.color, kind), template_index, (victim, new), new
        )
    if edit_type == "add":
        free = [name for name, (_, (x, y)) in POSITIONS.items() if _free(scene.shapes, x, y, ADD_RADIUS)]
        if not free:
            return None
        position = _pick(rng, sorted(free))
        phrase, (x, y) = POSITIONS[position]
        color = _pick(rng, set(COLOR_NAMES) - used_colors)
        kind = _pick(rng, set(SHAPES) - used_kinds)
        new = Shape(kind, color, float(x), float(y), ADD_RADIUS)
        target = scene.with_shapes(scene.shapes + (new,))
        text = template.format(color=color, shape=kind, position=phrase)
        return EditPlan(edit_type, scene, target, text, (edit_type, color, kind), template_index, (new,), new)
    if edit_type == "background":
        color = _pick(rng, set(COLOR_NAMES) - used_colors)
        target = scene.with_background(color)
        text = template.format(color=color)
        return EditPlan(edit_type, scene, target, text, (edit_type, color, scene.background), template_index, (), None)
    raise ValueError(f"unknown edit type {edit_type!r}")


def sample_plan(rng: np.random.Generator, edit_type: str, held_out: bool) -> EditPlan:
    """A plan of `edit_type` that is held out (combination or phrasing) exactly when `held_out` is True.

    Training data uses held_out=False, so it never contains a held-out combination or phrasing.
    """
    last = len(PHRASINGS[edit_type]) - 1
    held_out_by_phrasing = held_out and rng.random() < 0.5
    while True:
        template_index = last if held_out_by_phrasing else int(rng.integers(last))
        plan = _plan(rng, edit_type, template_index)
        if plan is None:
            continue
        if held_out_by_phrasing or plan.held_out_combo == held_out:
            return plan


def edit_mask(plan: EditPlan) -> np.ndarray:
    """Pixels the edit may change: the touched shapes' coverage, or the visible background."""
    if plan.edit_type == "background":
        covered = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        for shape in plan.source.shapes:
            covered = 1 - (1 - covered) * (1 - coverage(shape))
        return covered < 1 - 1e-6
    mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    for shape in plan.touched:
        mask |= coverage(shape) > 0
    return mask


def render_plan(plan: EditPlan) -> EditPair:
    """Render the source, the ground-truth target and the edit mask of `plan`."""
    return EditPair(render(plan.source), render(plan.target), edit_mask(plan), plan)


def sample_pair(rng: np.random.Generator, edit_type: str = None, held_out: bool = False) -> EditPair:
    """One rendered pair; the edit type is uniform over EDIT_TYPES when not given."""
    if edit_type is None:
        edit_type = EDIT_TYPES[rng.integers(len(EDIT_TYPES))]
    return render_plan(sample_plan(rng, edit_type, held_out))
