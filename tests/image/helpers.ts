/**
 * Shared helpers for the image tests: fixture images, a seeded PRNG, random images and typed-error
 * checks.
 */
import assert from "node:assert/strict";
import { EditMGTError, type ErrorCode } from "../../src/errors/mod.ts";
import type { BinaryMask, RgbaImage, Size } from "../../src/image/mod.ts";

/** Reads a fixture image (tests/fixtures/images), a fresh copy each call. */
export { fixtureImage as fixture } from "../_shared/fixtures.ts";

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An image of random bytes (alpha random too unless `opaque`). */
export function randomImage(size: Size, random: () => number, opaque = true): RgbaImage {
  const data = new Uint8ClampedArray(size.width * size.height * 4);
  for (let i = 0; i < data.length; i++) {
    data[i] = opaque && i % 4 === 3 ? 255 : Math.floor(random() * 256);
  }
  return { ...size, data };
}

/** A mask whose cells are set with probability `density`. */
export function randomMask(size: Size, random: () => number, density = 0.5): BinaryMask {
  const data = new Uint8Array(size.width * size.height);
  for (let i = 0; i < data.length; i++) data[i] = random() < density ? 1 : 0;
  return { ...size, data };
}

/** Asserts that `error` is an EditMGTError with `code` (and `reason` in its details, if given). */
export function assertTypedError(error: unknown, code: ErrorCode, reason?: string): true {
  assert.ok(error instanceof EditMGTError, `expected EditMGTError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  if (reason !== undefined) assert.equal(error.details?.reason, reason, error.message);
  return true;
}

/** Largest absolute difference between two byte arrays of equal length. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The RGB of the pattern fixtures at (x, y). */
export function patternRgb(x: number, y: number): [number, number, number] {
  return [x * 36, y * 60, 255 - x * 20];
}

/** Mean absolute difference between two byte arrays of equal length. */
export function meanDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}
