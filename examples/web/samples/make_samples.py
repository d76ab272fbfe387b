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
    """One trained phrasing and combination per shape (recolor, remove or replace) and one for
    the background; combinations held out of training are skipped."""
    used = {scene.background} | {s.color for s in scene.shapes}
    trained = lambda key: key not in domain.HELD_OUT_COMBOS  # noqa: E731
    lines = []
    for i, shape in enumerate(scene.shapes):
        obj = f"{shape.color} {shape.kind}"
        colors = [c for c in sorted(set(domain.COLORS) - used) if trained(("recolor", c, shape.kind))]
        kinds = [
            k for k in sorted(set(domain.SHAPES) - {s.kind for s in scene.shapes})
            if trained(("replace", shape.color, k))
        ]
        if i % 3 == 0 and colors:
            lines.append(f"make the {obj} {colors[rng.integers(len(colors))]}")
        elif i % 3 == 1 and trained(("remove", shape.color, shape.kind)):
            lines.append(f"remove the {obj}")
        elif kinds:
            lines.append(f"turn the {obj} into a {kinds[rng.integers(len(kinds))]}")
    backgrounds = [
        c for c in sorted(set(domain.COLORS) - used) if trained(("background", c, scene.background))
    ]
    if backgrounds:
        lines.append(f"make the background {backgrounds[rng.integers(len(backgrounds))]}")
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
