/**
 * Resampling of images and float maps, separable (rows, then columns), each axis with its own
 * filter:
 *
 * - shrinking an axis uses the exact **area average** (each output pixel is the mean of the
 *   source area it covers, partial pixels weighted by their overlap), so no source pixel is
 *   skipped and there is no aliasing;
 * - enlarging an axis uses **bicubic** (Catmull-Rom, a = -0.5: sharp, little overshoot) for
 *   images and **bilinear** for maps by default; both sample at pixel centres
 *   (`align_corners = false`) and replicate the edge pixels;
 * - an axis whose length does not change is copied.
 *
 * Images are resampled with premultiplied alpha, so transparent pixels do not bleed their
 * (invisible) colour into their neighbours; opaque images come out as with plain averaging.
 *
 * @module
 */
import type { FloatMap, RgbaImage, Size } from "./types.ts";

/** How an axis is resampled. `area` works in both directions (as a box filter when enlarging). */
export type ResampleFilter = "area" | "bilinear" | "bicubic";

/** Options for {@linkcode resizeImage} and {@linkcode resizeMap}. */
export interface ResizeOptions {
  /** Filter for axes that get longer. Default `"bicubic"` for images, `"bilinear"` for maps. */
  upscale?: "bilinear" | "bicubic";
}

/**
 * Resizes an RGBA image: area average where it shrinks, bicubic (or bilinear) where it grows.
 *
 * @example
 * ```ts
 * import { createImage, resizeImage } from "@editmgt/editmgt/image";
 * const small = resizeImage(createImage({ width: 1000, height: 750 }), { width: 64, height: 64 });
 * console.log(small.width, small.height); // 64 64
 * ```
 */
export function resizeImage(
  image: RgbaImage,
  size: Size,
  options: ResizeOptions = {},
): RgbaImage {
  const upscale = options.upscale ?? "bicubic";
  const data = new Uint8ClampedArray(size.width * size.height * 4);
  resample(
    image,
    size,
    4,
    filterFor(image.width, size.width, upscale),
    filterFor(image.height, size.height, upscale),
    (y, row) => premultiplyRow(image.data, y * image.width * 4, row),
    (y, row) => unpremultiplyRow(row, data, y * size.width * 4),
  );
  return { width: size.width, height: size.height, data };
}

/**
 * Resizes a float map (for example a localization map from the token grid to the image size):
 * area average where it shrinks, bilinear (or bicubic) where it grows. Values are not clamped.
 *
 * @example
 * ```ts
 * import { resizeMap } from "@editmgt/editmgt/image";
 * const map = { width: 2, height: 1, data: new Float32Array([0, 1]) };
 * console.log(resizeMap(map, { width: 4, height: 1 }).data); // [0, 0.25, 0.75, 1]
 * ```
 */
export function resizeMap(map: FloatMap, size: Size, options: ResizeOptions = {}): FloatMap {
  const upscale = options.upscale ?? "bilinear";
  return resampleMap(
    map,
    size,
    filterFor(map.width, size.width, upscale),
    filterFor(map.height, size.height, upscale),
  );
}

/**
 * Resamples a float map with an explicit filter per axis. With `"area"` on both axes a binary
 * map turns into coverage fractions: each output cell holds the share of its area that is set.
 *
 * @example
 * ```ts
 * import { resampleMap } from "@editmgt/editmgt/image";
 * const map = { width: 4, height: 1, data: new Float32Array([1, 0, 0, 0]) };
 * console.log(resampleMap(map, { width: 2, height: 1 }, "area", "area").data); // [0.5, 0]
 * ```
 */
export function resampleMap(
  map: FloatMap,
  size: Size,
  filterX: ResampleFilter,
  filterY: ResampleFilter,
): FloatMap {
  const data = new Float32Array(size.width * size.height);
  resample(
    map,
    size,
    1,
    filterX,
    filterY,
    (y, row) => row.set(map.data.subarray(y * map.width, (y + 1) * map.width)),
    (y, row) => data.set(row, y * size.width),
  );
  return { width: size.width, height: size.height, data };
}

/** Area when an axis shrinks or keeps its length (then it is an exact copy), else `upscale`. */
function filterFor(from: number, to: number, upscale: ResampleFilter): ResampleFilter {
  return to <= from ? "area" : upscale;
}

/** For each output index along an axis: the first source index and the tap weights. */
interface AxisWeights {
  /** First source index of each output. */
  starts: Int32Array;
  /** Offsets into `weights`: output o uses weights[offsets[o] .. offsets[o + 1]). */
  offsets: Int32Array;
  weights: Float64Array;
}

/**
 * Weights of one axis. Source indices outside [0, from) are clamped to the edge, which is the
 * same as replicating the edge pixels; the weights then pile up on the edge index, so the
 * taps of an output are always consecutive source indices.
 */
function axisWeights(from: number, to: number, filter: ResampleFilter): AxisWeights {
  const scale = from / to;
  const starts = new Int32Array(to);
  const offsets = new Int32Array(to + 1);
  const weights: number[] = [];
  for (let o = 0; o < to; o++) {
    const taps = filter === "area" ? areaTaps(o, scale) : kernelTaps(o, scale, filter);
    const clamped = new Map<number, number>();
    for (const [index, weight] of taps) {
      const edge = Math.min(from - 1, Math.max(0, index));
      clamped.set(edge, (clamped.get(edge) ?? 0) + weight);
    }
    const indices = [...clamped.keys()].sort((a, b) => a - b);
    starts[o] = indices[0];
    for (let i = indices[0]; i <= indices[indices.length - 1]; i++) {
      weights.push(clamped.get(i) ?? 0);
    }
    offsets[o + 1] = weights.length;
  }
  return { starts, offsets, weights: Float64Array.from(weights) };
}

/** Output o covers source [o * scale, (o + 1) * scale); each pixel weighs its overlap. */
function areaTaps(o: number, scale: number): Array<[number, number]> {
  const left = o * scale;
  const right = (o + 1) * scale;
  const taps: Array<[number, number]> = [];
  for (let i = Math.floor(left); i < right; i++) {
    const overlap = Math.min(right, i + 1) - Math.max(left, i);
    if (overlap > 0) taps.push([i, overlap / scale]);
  }
  return taps;
}

/**
 * Bilinear or bicubic taps around the source position of output o's centre. Bilinear clamps
 * positions before the first pixel centre to it (as PyTorch does); bicubic relies on the edge
 * replication.
 */
function kernelTaps(
  o: number,
  scale: number,
  filter: "bilinear" | "bicubic",
): Array<[number, number]> {
  const position = (o + 0.5) * scale - 0.5;
  if (filter === "bilinear") {
    const centre = Math.max(0, position);
    const base = Math.floor(centre);
    const t = centre - base;
    return [[base, 1 - t], [base + 1, t]];
  }
  const base = Math.floor(position);
  const t = position - base;
  return [
    [base - 1, cubic(1 + t)],
    [base, cubic(t)],
    [base + 1, cubic(1 - t)],
    [base + 2, cubic(2 - t)],
  ];
}

/** Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom). */
function cubic(distance: number): number {
  const a = -0.5;
  const x = Math.abs(distance);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/**
 * Separable resampling of `channels` interleaved float channels, streamed by rows so that only
 * one source row, one output row and the row-resampled intermediate (source height x output
 * width) are held in floats: `readRow(y, row)` fills source row y, `writeRow(y, row)` receives
 * output row y.
 */
function resample(
  from: Size,
  to: Size,
  channels: number,
  filterX: ResampleFilter,
  filterY: ResampleFilter,
  readRow: (y: number, row: Float32Array) => void,
  writeRow: (y: number, row: Float32Array) => void,
): void {
  const columns = axisWeights(from.width, to.width, filterX);
  const rows = axisWeights(from.height, to.height, filterY);
  const stride = to.width * channels;
  const sourceRow = new Float32Array(from.width * channels);
  const narrowed = new Float32Array(from.height * stride);
  for (let y = 0; y < from.height; y++) {
    readRow(y, sourceRow);
    resampleRow(sourceRow, narrowed.subarray(y * stride, (y + 1) * stride), channels, columns);
  }
  const outputRow = new Float32Array(stride);
  for (let y = 0; y < to.height; y++) {
    outputRow.fill(0);
    for (let k = rows.offsets[y]; k < rows.offsets[y + 1]; k++) {
      const weight = rows.weights[k];
      const rowIn = (rows.starts[y] + k - rows.offsets[y]) * stride;
      for (let i = 0; i < stride; i++) outputRow[i] += weight * narrowed[rowIn + i];
    }
    writeRow(y, outputRow);
  }
}

/** One row through the column weights. */
function resampleRow(
  source: Float32Array,
  out: Float32Array,
  channels: number,
  axis: AxisWeights,
): void {
  const width = out.length / channels;
  for (let x = 0; x < width; x++) {
    const first = axis.offsets[x];
    const taps = axis.offsets[x + 1] - first;
    const start = axis.starts[x] * channels;
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let k = 0; k < taps; k++) {
        sum += axis.weights[first + k] * source[start + k * channels + c];
      }
      out[x * channels + c] = sum;
    }
  }
}

/** One row of RGBA bytes to floats with colour multiplied by alpha / 255 (alpha in 0..255). */
function premultiplyRow(data: Uint8ClampedArray, start: number, row: Float32Array): void {
  for (let i = 0; i < row.length; i += 4) {
    const alpha = data[start + i + 3];
    row[i] = data[start + i] * alpha / 255;
    row[i + 1] = data[start + i + 1] * alpha / 255;
    row[i + 2] = data[start + i + 2] * alpha / 255;
    row[i + 3] = alpha;
  }
}

/** Inverse of {@linkcode premultiplyRow}, rounded and clamped to bytes. */
function unpremultiplyRow(row: Float32Array, data: Uint8ClampedArray, start: number): void {
  for (let i = 0; i < row.length; i += 4) {
    const alpha = row[i + 3];
    if (alpha <= 0) continue;
    data[start + i] = Math.round(row[i] * 255 / alpha);
    data[start + i + 1] = Math.round(row[i + 1] * 255 / alpha);
    data[start + i + 2] = Math.round(row[i + 2] * 255 / alpha);
    data[start + i + 3] = Math.round(alpha);
  }
}
