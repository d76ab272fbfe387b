"""Localization map S_L from captured text->image attention (upstream ``local_utils`` + scheduler upsample).

mean over text rows -> min-max rescale -> upstream's adaptive smoothing (scipy, as upstream) -> bicubic
upsample (PyTorch, ``align_corners=False``) from the transformer grid to the VQ token grid.
"""

from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

Grid = Tuple[int, int]
TextRows = Union[str, Sequence[int]]


def min_max_rescale(values: np.ndarray) -> np.ndarray:
    """Upstream ``rescale_scores``: ``(s - min) / (max - min + 1e-8)``."""
    return (values - values.min()) / (values.max() - values.min() + 1e-8)


def smooth_adaptive(scores: np.ndarray) -> np.ndarray:
    """Upstream ``smooth_local_scores(method="adaptive", strength=1.0)`` of a 2D float32 map.

    Gaussian blur (sigma 1.5, reflect) blended with the input by a weight falling with the local 5x5
    variance; values above the 90th percentile keep 70% of the input; result rescaled to the input range.
    """
    blurred = ndimage.gaussian_filter(scores, sigma=1.5, mode="reflect")
    variance = ndimage.generic_filter(scores, np.var, size=5)
    variance = (variance - variance.min()) / (variance.max() - variance.min() + 1e-8)
    weight = 1.0 - variance * 0.7
    smoothed = weight * blurred + (1 - weight) * scores
    peaks = scores > np.percentile(scores, 90)
    smoothed[peaks] = 0.7 * scores[peaks] + 0.3 * smoothed[peaks]
    if smoothed.max() > smoothed.min():
        smoothed = (smoothed - smoothed.min()) / (smoothed.max() - smoothed.min())
        smoothed = smoothed * (scores.max() - scores.min()) + scores.min()
    return smoothed


def upsample_bicubic(scores: np.ndarray, size: Grid) -> np.ndarray:
    """Bicubic resize of a 2D map to ``size`` (PyTorch, A=-0.75, border clamp), float32."""
    source = torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))[None, None]
    return F.interpolate(source, size=size, mode="bicubic", align_corners=False)[0, 0].numpy()


def localization_map(
    text_attention: np.ndarray, attention_grid: Grid, token_grid: Grid, rows: TextRows = "all"
) -> Tuple[np.ndarray, np.ndarray]:
    """(smoothed map on the attention grid, S_L on the token grid) from text_attention [T, h*w]."""
    selected = text_attention if isinstance(rows, str) else text_attention[list(rows)]
    mean = selected.astype(np.float64).mean(axis=0).astype(np.float32)
    smoothed = smooth_adaptive(min_max_rescale(mean).reshape(attention_grid).astype(np.float32))
    return smoothed, upsample_bicubic(smoothed, token_grid)


def auto_lambda(attention_map: np.ndarray, min_separability: float = 0.7, max_foreground: float = 0.5) -> float:
    """``lambda: "auto"`` (src/localize/auto_lambda.ts): the Otsu threshold of the smoothed map (transformer
    grid), or 0 (hold nothing) when the map has no clear foreground: flat, separability below
    ``min_separability``, or foreground over ``max_foreground``."""
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
