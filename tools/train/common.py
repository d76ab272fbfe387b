"""Shared pieces of the training stages: paths, time-budgeted schedules, checkpoints, JSON-lines logs."""

import json
import math
import os
from pathlib import Path
import time
from typing import Callable

import numpy as np
import torch

PATCH = 4
"""Pixels per VQ token along one side (64 px -> 16x16 tokens)."""


def set_threads(default: int = 2) -> None:
    """Torch's own thread count: EDITMGT_THREADS if set, else ``default`` (the machine is shared)."""
    torch.set_num_threads(int(os.environ.get("EDITMGT_THREADS", default)))


def token_mask(pixel_mask: np.ndarray) -> np.ndarray:
    """Token-grid mask [..., H/4, W/4]: a token is in the edit when any of its pixels is."""
    *lead, h, w = pixel_mask.shape
    cells = pixel_mask.reshape(*lead, h // PATCH, PATCH, w // PATCH, PATCH)
    return cells.any(axis=(-3, -1))


def dilate(mask: torch.Tensor, steps: int = 1) -> torch.Tensor:
    """Binary dilation of a [B,h,w] bool mask by `steps` cells (3x3 neighbourhood)."""
    x = mask.float()[:, None]
    for _ in range(steps):
        x = torch.nn.functional.max_pool2d(x, 3, stride=1, padding=1)
    return x[:, 0] > 0


def cosine_lr(base: float, progress: float, warmup: float, floor: float = 0.1) -> float:
    """Learning rate at `progress` in [0,1] of the run: linear warmup, then cosine decay to floor*base."""
    if progress < warmup:
        return base * max(progress / warmup, 0.01)
    t = min((progress - warmup) / max(1 - warmup, 1e-9), 1.0)
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))


class Budget:
    """Wall-clock training budget that survives resume: progress = time trained / budget. `clock` gives
    seconds (default the wall clock); tests pass one they move."""

    def __init__(self, seconds: float, spent: float = 0.0, clock: Callable[[], float] = time.time):
        self.seconds = seconds
        self.spent = spent
        self.clock = clock
        self._mark = clock()

    def tick(self) -> float:
        """Add the time since the last tick and return progress in [0, 1+]."""
        now = self.clock()
        self.spent += now - self._mark
        self._mark = now
        return self.spent / self.seconds

    @property
    def done(self) -> bool:
        """True once the whole budget is spent."""
        return self.spent >= self.seconds


class JsonLog:
    """Append-only JSON-lines log (one object per line, flushed at once)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "a")

    def write(self, **record) -> None:
        """Append one record with a UTC timestamp."""
        record["time"] = time.strftime("%H:%M:%S", time.gmtime())
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically (temp file + rename), so an interrupted save never leaves a broken checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    torch.save(state, temp)
    os.replace(temp, path)


def load_pairs(data_dir: Path):
    """Memory-mapped training arrays: source, target [N,H,W,3] uint8, mask [N,H,W] bool, metadata list."""
    source = np.load(data_dir / "source.npy", mmap_mode="r")
    target = np.load(data_dir / "target.npy", mmap_mode="r")
    mask = np.load(data_dir / "mask.npy", mmap_mode="r")
    with open(data_dir / "meta.jsonl") as f:
        meta = [json.loads(line) for line in f]
    return source, target, mask, meta


def to_pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 [B,H,W,3] -> float [B,3,H,W] in [0,1]."""
    return torch.from_numpy(np.array(images)).permute(0, 3, 1, 2).float() / 255.0
