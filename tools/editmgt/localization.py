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
