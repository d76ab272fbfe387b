"""Evaluation metrics of the shapes-editing domain, as defined in tools/data/METRICS.md.

All images are uint8 RGB [H, W, 3]; masks are bool [H, W]. The TypeScript `deno task eval` implements
the same definitions; both are checked against the same numbers (see METRICS.md).
"""

from __future__ import annotations

from typing import Dict, Iterable, List

import numpy as np

from .domain import COLORS

PALETTE_NAMES = tuple(COLORS)
PALETTE = np.asarray([COLORS[name] for name in PALETTE_NAMES], dtype=np.float32)

COLOR_RADIUS = 45.0
"""A pixel takes the class of the nearest palette colour only within this RGB distance; else "none" (-1)."""

TOKEN = 4
"""Pixels per VQ token side: masks are dilated by one token for the region and leakage metrics."""

IOU_THRESHOLD = 0.75
"""Minimum key-colour IoU with the ground-truth target for an edit to count as a success."""

LEAKAGE_LIMIT = 12.0
"""Strict success also requires leakage (mean abs difference 0-255 outside the edit) at most this."""


def classify(image: np.ndarray) -> np.ndarray:
    """Palette class index per pixel [H, W] int, -1 where no palette colour is within COLOR_RADIUS."""
    distances = np.linalg.norm(image.astype(np.float32)[:, :, None, :] - PALETTE[None, None], axis=-1)
    nearest = distances.argmin(-1)
    return np.where(distances.min(-1) <= COLOR_RADIUS, nearest, -1)


def dilate(mask: np.ndarray, radius: int = TOKEN) -> np.ndarray:
    """Binary dilation of a [H, W] mask by a (2r+1)-square neighbourhood."""
    padded = np.pad(mask, radius)
    h, w = mask.shape
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy : dy + h, dx : dx + w]
    return out


def token_mask(mask: np.ndarray, token: int = TOKEN) -> np.ndarray:
    """Token-grid mask [H/t, W/t]: a token belongs to the edit when any of its pixels does."""
    h, w = mask.shape
    return mask.reshape(h // token, token, w // token, token).any(axis=(1, 3))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def edit_region(edit_type: str, mask: np.ndarray) -> np.ndarray:
    """Pixels judged for success: the whole image for background edits, else the mask dilated by one token."""
    return np.ones_like(mask) if edit_type == "background" else dilate(mask)


def evaluate_case(output, source, target, mask, edit_type: str, key_color: str) -> Dict[str, float]:
    """Metrics of one edited image against its ground truth.

    key_color: the palette colour whose shape is compared (recolor/add: the new colour; replace: the
    object's colour; remove: the background colour under the removed object; background: the new colour).
    """
    region = edit_region(edit_type, mask)
    key = PALETTE_NAMES.index(key_color)
    expected = (classify(target) == key) & region
    got = (classify(output) == key) & region
    unchanged = (classify(source) == key) & region
    iou, noop_iou = _iou(got, expected), _iou(unchanged, expected)
    outside = ~dilate(mask)
    diff_out = np.abs(output.astype(np.float32) - source.astype(np.float32)).mean(-1)
    diff_in = np.abs(output.astype(np.float32) - target.astype(np.float32)).mean(-1)
    leakage = float(diff_out[outside].mean()) if outside.any() else 0.0
    fidelity = float(diff_in[mask].mean()) if mask.any() else 0.0
    success = iou >= IOU_THRESHOLD and iou > noop_iou
    return {
        "success": bool(success),
        "strict_success": bool(success and leakage <= LEAKAGE_LIMIT),
        "iou": iou,
        "noop_iou": noop_iou,
        "fidelity": fidelity,
        "leakage": leakage,
    }


def localization_iou(localization: np.ndarray, mask: np.ndarray, threshold: float) -> float:
    """IoU between the map (on the VQ token grid, values in [0,1]) thresholded at `threshold` and the
    ground-truth token mask of the pixel edit mask."""
    truth = token_mask(mask)
    if localization.shape != truth.shape:
        raise ValueError(f"localization map {localization.shape} is not on the token grid {truth.shape}")
    return _iou(localization >= threshold, truth)


def summarize(results: Iterable[dict]) -> Dict[str, dict]:
    """Means per edit type and held-out flag: {"recolor/in": {...}, "recolor/held_out": {...}, "all": {...}}.

    Each result is a case's metrics plus "type" and "held_out"; booleans average to rates.
    """
    groups: Dict[str, List[dict]] = {}
    for result in results:
        split = "held_out" if result["held_out"] else "in"
        for key in (f"{result['type']}/{split}", result["type"], split, "all"):
            groups.setdefault(key, []).append(result)
    summary = {}
    for key, rows in sorted(groups.items()):
        numeric = [k for k, v in rows[0].items() if isinstance(v, (bool, int, float)) and k != "held_out"]
        summary[key] = {"count": len(rows), **{k: float(np.mean([float(r[k]) for r in rows])) for k in numeric}}
    return summary
