/**
 * Exact Euclidean distance transform (Felzenszwalb and Huttenlocher, "Distance Transforms of
 * Sampled Functions", 2012): for every cell, the distance to the nearest set cell of a mask,
 * in linear time (a 1-D lower envelope of parabolas along columns, then along rows).
 *
 * @module
 */
import type { BinaryMask, FloatMap } from "./types.ts";

/** Stands for "no set cell in reach" inside the transform. */
const FAR = 1e20;

/**
 * Distance from each cell to the nearest set cell of `mask` (0 on set cells, `Infinity` when
 * the mask has no set cell).
 *
 * @example
 * ```ts
 * import { distanceToMask } from "@editmgt/editmgt/image";
 * const mask = { width: 3, height: 1, data: new Uint8Array([1, 0, 0]) };
 * console.log(distanceToMask(mask).data); // [0, 1, 2]
 * ```
 */
export function distanceToMask(mask: BinaryMask): FloatMap {
  const { width, height } = mask;
  const squared = new Float64Array(width * height);
  for (let i = 0; i < squared.length; i++) squared[i] = mask.data[i] ? 0 : FAR;
  const longest = Math.max(width, height);
  const line = new Float64Array(longest);
  const work = envelopeBuffers(longest);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) line[y] = squared[y * width + x];
    lowerEnvelope(line, height, work);
    for (let y = 0; y < height; y++) squared[y * width + x] = work.result[y];
  }
  for (let y = 0; y < height; y++) {
    line.set(squared.subarray(y * width, (y + 1) * width));
    lowerEnvelope(line, width, work);
    squared.set(work.result.subarray(0, width), y * width);
  }
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) {
    data[i] = squared[i] >= FAR / 2 ? Infinity : Math.sqrt(squared[i]);
  }
  return { width, height, data };
}

/** Work buffers of the 1-D transform, reused across lines. */
interface EnvelopeBuffers {
  /** The transformed line. */
  result: Float64Array;
  /** Positions of the parabolas in the lower envelope. */
  vertices: Int32Array;
  /** Where each envelope parabola starts to be the lowest. */
  bounds: Float64Array;
}

function envelopeBuffers(length: number): EnvelopeBuffers {
  return {
    result: new Float64Array(length),
    vertices: new Int32Array(length),
    bounds: new Float64Array(length + 1),
  };
}

/** result[q] = min over p of (q - p)^2 + f[p], for q < n. */
function lowerEnvelope(f: Float64Array, n: number, work: EnvelopeBuffers): void {
  const { vertices: v, bounds: z, result } = work;
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = intersection(f, q, v[k]);
    while (s <= z[k]) {
      k--;
      s = intersection(f, q, v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    result[q] = (q - v[k]) ** 2 + f[v[k]];
  }
}

/** Where the parabolas rooted at q and p intersect. */
function intersection(f: Float64Array, q: number, p: number): number {
  return (f[q] + q * q - (f[p] + p * p)) / (2 * q - 2 * p);
}
