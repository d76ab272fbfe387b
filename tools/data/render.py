"""Antialiased rendering of a shapes scene: a gradient background and non-overlapping shapes."""

from dataclasses import dataclass, field, replace
import math

import numpy as np
from PIL import Image, ImageDraw

from .domain import COLORS, IMAGE_SIZE

SUPERSAMPLE = 4
"""Shapes are drawn at this many times the image size and box-filtered down (antialiasing)."""


@dataclass(frozen=True)
class Shape:
    """One shape: kind, colour name, centre (x, y) in pixels and circumradius in pixels."""

    kind: str
    color: str
    cx: float
    cy: float
    radius: float


@dataclass(frozen=True)
class Scene:
    """A background (colour name + linear gradient) and the shapes drawn on it, back to front."""

    background: str
    gradient_angle: float
    gradient_amplitude: float
    shapes: tuple = field(default_factory=tuple)

    def with_shapes(self, shapes) -> "Scene":
        """The same background with another list of shapes."""
        return replace(self, shapes=tuple(shapes))

    def with_background(self, color: str) -> "Scene":
        """The same shapes and gradient on another background colour."""
        return replace(self, background=color)


def _outline(shape: Shape) -> list:
    """Polygon vertices (supersampled pixel units) of a square, triangle or star."""
    s = SUPERSAMPLE
    cx, cy, r = shape.cx * s, shape.cy * s, shape.radius * s
    if shape.kind == "square":
        h = r * 0.8
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if shape.kind == "triangle":
        # Equilateral, apex up, centred on its bounding box rather than its centroid.
        rt = r * 1.1
        half_height = rt * 0.75
        half_base = rt * math.sqrt(3) / 2
        return [(cx, cy - half_height), (cx + half_base, cy + half_height), (cx - half_base, cy + half_height)]
    if shape.kind == "star":
        points = []
        for k in range(10):
            rk = r * 1.05 if k % 2 == 0 else r * 0.45
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((cx + rk * math.cos(angle), cy + rk * math.sin(angle) + r * 0.1))
        return points
    raise ValueError(f"unknown shape kind {shape.kind!r}")


def coverage(shape: Shape) -> np.ndarray:
    """Fraction of each pixel covered by `shape`, float32 [H, W] in [0, 1]."""
    big = IMAGE_SIZE * SUPERSAMPLE
    canvas = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(canvas)
    if shape.kind == "circle":
        s = SUPERSAMPLE
        r = shape.radius * 0.9 * s
        cx, cy = shape.cx * s, shape.cy * s
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    else:
        draw.polygon(_outline(shape), fill=255)
    cells = np.asarray(canvas, dtype=np.float32).reshape(IMAGE_SIZE, SUPERSAMPLE, IMAGE_SIZE, SUPERSAMPLE)
    return cells.mean(axis=(1, 3)) / 255.0


def background(scene: Scene) -> np.ndarray:
    """The background alone: palette colour plus a low-amplitude linear gradient, float32 [H, W, 3] 0-255."""
    axis = (np.arange(IMAGE_SIZE, dtype=np.float32) - (IMAGE_SIZE - 1) / 2) / (IMAGE_SIZE / 2)
    ramp = np.cos(scene.gradient_angle) * axis[None, :] + np.sin(scene.gradient_angle) * axis[:, None]
    base = np.asarray(COLORS[scene.background], dtype=np.float32)
    return np.clip(base[None, None, :] + scene.gradient_amplitude * ramp[:, :, None], 0, 255)


def render(scene: Scene) -> np.ndarray:
    """The scene as uint8 RGB [H, W, 3]."""
    pixels = background(scene)
    for shape in scene.shapes:
        alpha = coverage(shape)[:, :, None]
        color = np.asarray(COLORS[shape.color], dtype=np.float32)
        pixels = pixels * (1 - alpha) + color[None, None, :] * alpha
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
