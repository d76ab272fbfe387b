"""The sampler's portable RNG: xoshiro128** seeded by SplitMix64 (same numbers as src/sampler/rng.ts).

SplitMix64 started at ``seed`` yields 64-bit words w0, w1, ...; stream k takes w(2k), w(2k+1) as the state
``[lo32(w2k), hi32(w2k), lo32(w2k+1), hi32(w2k+1)]``. Stream 0 feeds the categorical draw, stream 1 the
Gumbel noise. A uniform is the top 24 bits of an output times 2^-24 (exact in float32, in [0, 1)).
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF
CATEGORICAL_STREAM = 0
GUMBEL_STREAM = 1


def _splitmix64(seed: int, first: int, count: int) -> List[int]:
    state = seed & MASK64
    words = []
    for index in range(first + count):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        if index >= first:
            words.append(z ^ (z >> 31))
    return words


def _rotl(word: int, bits: int) -> int:
    return ((word << bits) | (word >> (32 - bits))) & MASK32


class Xoshiro128:
    """A xoshiro128** generator (state with a lifetime: one per stream per run)."""

    def __init__(self, state: Sequence[int]):
        self.state = [word & MASK32 for word in state]
        if not any(self.state):
            raise ValueError("xoshiro128** state must not be all zero")

    @classmethod
    def from_seed(cls, seed: int, stream: int) -> "Xoshiro128":
        """Stream ``stream`` of ``seed`` (a non-negative integer below 2^53)."""
        first, second = _splitmix64(seed, 2 * stream, 2)
        return cls([first & MASK32, first >> 32, second & MASK32, second >> 32])

    def next_uint32(self) -> int:
        """Next 32-bit output."""
        s0, s1, s2, s3 = self.state
        result = (_rotl((s1 * 5) & MASK32, 7) * 9) & MASK32
        shifted = (s1 << 9) & MASK32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= shifted
        s3 = _rotl(s3, 11)
        self.state = [s0, s1, s2, s3]
        return result

    def next_uniform(self) -> float:
        """Next uniform in [0, 1): top 24 bits of ``next_uint32`` times 2^-24."""
        return (self.next_uint32() >> 8) * 2.0**-24

    def uniforms(self, count: int) -> np.ndarray:
        """The next ``count`` uniforms as float32."""
        return np.array([self.next_uniform() for _ in range(count)], dtype=np.float32)
