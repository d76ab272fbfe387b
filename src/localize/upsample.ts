import { EditMGTError } from "../errors/mod.ts";
import { type Grid, gridSize } from "./grid.ts";

/** The cubic convolution constant that PyTorch uses for bicubic interpolation. */
const CUBIC_A = -0.75;

/**
 * Resizes a row-major map from grid `from` to grid `to` by bicubic interpolation with PyTorch's
 * semantics (`F.interpolate(mode="bicubic", align_corners=False)`): source coordinate
 * `(dst + 0.5) * in / out - 0.5` (not clamped), cubic convolution with `A = -0.75`, and indices
 * outside the map clamped to the border. Values may overshoot the input range, as in PyTorch.
 *
 * @example
 * ```ts
 * import { upsampleBicubic } from "@editmgt/editmgt";
 *
 * const map = Float32Array.of(0, 1, 1, 0);
 * const up = upsampleBicubic(map, { height: 2, width: 2 }, { height: 4, width: 4 });
 * console.log(up.length); // 16
 * ```
 */
export function upsampleBicubic(map: ArrayLike<number>, from: Grid, to: Grid): Float32Array {
  if (map.length !== gridSize(from)) {
    throw new EditMGTError(
      "invalid_input",
      `map has ${map.length} values, grid needs ${gridSize(from)}`,
    );
  }
  const columns = cubicTaps(from.width, to.width);
  const rows = cubicTaps(from.height, to.height);
  // Separable: every source row along x first, then the rows' results along y (the same sums
  // as PyTorch's per-pixel 4x4 evaluation).
  const alongRows = new Float64Array(from.height * to.width);
  for (let y = 0; y < from.height; y++) {
    for (let x = 0; x < to.width; x++) {
      let value = 0;
      for (let j = 0; j < 4; j++) {
        value += columns.weight[4 * x + j] * map[y * from.width + columns.index[4 * x + j]];
      }
      alongRows[y * to.width + x] = value;
    }
  }
  const out = new Float32Array(gridSize(to));
  for (let y = 0; y < to.height; y++) {
    for (let x = 0; x < to.width; x++) {
      let value = 0;
      for (let i = 0; i < 4; i++) {
        value += rows.weight[4 * y + i] * alongRows[rows.index[4 * y + i] * to.width + x];
      }
      out[y * to.width + x] = value;
    }
  }
  return out;
}

/** The 4 clamped source indices and cubic weights of every output position along one axis. */
function cubicTaps(inSize: number, outSize: number): { index: Int32Array; weight: Float64Array } {
  const scale = inSize / outSize;
  const index = new Int32Array(4 * outSize);
  const weight = new Float64Array(4 * outSize);
  for (let dst = 0; dst < outSize; dst++) {
    const source = (dst + 0.5) * scale - 0.5;
    const base = Math.floor(source);
    const t = source - base;
    weight[4 * dst] = cubicFar(t + 1);
    weight[4 * dst + 1] = cubicNear(t);
    weight[4 * dst + 2] = cubicNear(1 - t);
    weight[4 * dst + 3] = cubicFar(2 - t);
    for (let k = 0; k < 4; k++) {
      index[4 * dst + k] = Math.min(Math.max(base - 1 + k, 0), inSize - 1);
    }
  }
  return { index, weight };
}

/** Cubic convolution kernel for `|x| <= 1`: `((A + 2) x - (A + 3)) x^2 + 1`. */
function cubicNear(x: number): number {
  return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1;
}

/** Cubic convolution kernel for `1 < |x| < 2`: `((A x - 5A) x + 8A) x - 4A`. */
function cubicFar(x: number): number {
  return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A;
}
