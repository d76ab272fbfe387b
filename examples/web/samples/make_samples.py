"""Writes the demo page's sample images: scenes of the tiny model's shapes domain (tools/data),
rendered at 4x the model's resolution so the demo shows edits composited at full size, with a
few instructions each that the model was trained on (one per shape or the background).

    /usr/bin/python3 examples/web/samples/make_samples.py
"""

from dataclasses import replace
import json
from pathlib import Path
import sys

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tools.data import domain, generator, render  # noqa: E402

SCALE = 4
COUNT = 4
SEED = 20261127
OUT = Path(__file__).resolve().parent


def scaled(scene):
    """The scene with every shape's centre and size multiplied by SCALE."""
    return scene.with_shapes(
        replace(s, cx=s.cx * SCALE, cy=s.cy * SCALE, radius=s.radius * SCALE) for s in scene.shapes
    )


def instructions(scene, rng):
    """Trained phrasings and combinations, the edit types the tiny model does best first (its
    model card: remove and background edits succeed far more often than recolor and replace):
    remove each shape, change the background, then one recolor and one replace. Combinations
    held out of training are skipped, and so are the edits the model card lists as failing: drawing
    a star (replace into a star, recolor a star)."""
    used = {scene.background} | {s.color for s in scene.shapes}
    trained = lambda key: key not in domain.HELD_OUT_COMBOS  # noqa: E731
    pick = lambda options: options[rng.integers(len(options))] if options else None  # noqa: E731
    free_colors = sorted(set(domain.COLORS) - used)
    free_kinds = sorted(set(domain.SHAPES) - {s.kind for s in scene.shapes} - {"star"})
    lines = [
        f"remove the {s.color} {s.kind}" for s in scene.shapes if trained(("remove", s.color, s.kind))
    ]
    background = pick([c for c in free_colors if trained(("background", c, scene.background))])
    if background:
        lines.append(f"make the background {background}")
    first = next(s for s in scene.shapes if s.kind != "star")
    last = scene.shapes[-1]
    color = pick([c for c in free_colors if trained(("recolor", c, first.kind))])
    if color:
        lines.append(f"make the {first.color} {first.kind} {color}")
    kind = pick([k for k in free_kinds if trained(("replace", last.color, k))])
    if kind:
        lines.append(f"turn the {last.color} {last.kind} into a {kind}")
    return lines


def main():
    rng = np.random.default_rng(SEED)
    samples = []
    render.IMAGE_SIZE = domain.IMAGE_SIZE * SCALE  # render() reads its module's size
    while len(samples) < COUNT:
        plan = generator.sample_plan(rng, "recolor", held_out=False)
        if len(plan.source.shapes) < 3:
            continue
        name = f"shapes-{len(samples) + 1}.png"
        Image.fromarray(render.render(scaled(plan.source))).save(OUT / name, optimize=True)
        samples.append({"file": name, "instructions": instructions(plan.source, rng)})
    (OUT / "samples.json").write_text(json.dumps(samples, indent=2) + "\n")
    print(f"wrote {len(samples)} samples to {OUT}")


if __name__ == "__main__":
    main()
