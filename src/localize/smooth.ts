import { EditMGTError } from "../errors/mod.ts";
import { type Grid, gridSize, reflectTable } from "./grid.ts";

/** Standard deviation of upstream's Gaussian blur, in grid cells. */
const GAUSSIAN_SIGMA = 1.5;
/** scipy's default truncation of the Gaussian kernel, in standard deviations. */
const GAUSSIAN_TRUNCATE = 4;
/** Side of the square window of the local variance filter. */
const VARIANCE_WINDOW = 5;

/**
 * Upstream's "adaptive" smoothing of a localization map (`smooth_local_scores(method="adaptive",
 * strength=1.0)`), for any grid size:
 *
 * 1. `g = gaussian_filter(x, sigma=1.5, mode="reflect")` (truncate 4, radius 6);
 * 2. `v` = population variance of `x` in a 5x5 window (mode "reflect"), min-max rescaled with
 *    `(v - min) / (max - min + 1e-8)`;
 * 3. `w = 1 - 0.7 v`, `s = w g + (1 - w) x`;
 * 4. peaks kept: where `x > percentile(x, 90)`, `s = 0.7 x + 0.3 s`;
 * 5. if `s` is not flat, `s` is rescaled to the range of `x`.
 *
 * @example
 * ```ts
 * import { smoothAdaptive } from "@editmgt/editmgt";
 *
 * const map = new Float32Array(16 * 16).map((_, i) => (i % 16 < 8 ? 0 : 1));
 * const smoothed = smoothAdaptive(map, { height: 16, width: 16 });
 * console.log(smoothed.length); // 256
 * ```
 */
export function smoothAdaptive(map: ArrayLike<number>, grid: Grid): Float32Array {
  const size = gridSize(grid);
  if (map.length !== size) {
    throw new EditMGTError("invalid_input", `map has ${map.length} values, grid needs ${size}`);
  }
  const blurred = gaussianFilter(map, grid, GAUSSIAN_SIGMA, GAUSSIAN_TRUNCATE);
  const variance = varianceFilter(map, grid, VARIANCE_WINDOW);
  const [varianceMin, varianceMax] = range(variance);
  const peakThreshold = percentile(map, 90);
  const smoothed = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const x = map[i];
    const weight = 1 - 0.7 * ((variance[i] - varianceMin) / (varianceMax - varianceMin + 1e-8));
    const s = weight * blurred[i] + (1 - weight) * x;
    smoothed[i] = x > peakThreshold ? 0.7 * x + 0.3 * s : s;
  }
  const [low, high] = range(smoothed);
  if (high > low) {
    const [inputLow, inputHigh] = range(map);
    for (let i = 0; i < size; i++) {
      smoothed[i] = ((smoothed[i] - low) / (high - low)) * (inputHigh - inputLow) + inputLow;
    }
  }
  return smoothed;
}

/**
 * Separable Gaussian blur as `scipy.ndimage.gaussian_filter` with mode "reflect": rows (axis 0)
 * first, then columns, the kernel `exp(-x^2 / (2 sigma^2))` normalized over
 * `|x| <= floor(truncate * sigma + 0.5)`, float32 storage between the passes.
 */
export function gaussianFilter(
  map: ArrayLike<number>,
  grid: Grid,
  sigma: number,
  truncate = GAUSSIAN_TRUNCATE,
): Float32Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let k = -radius; k <= radius; k++) {
    kernel[k + radius] = Math.exp((-0.5 / (sigma * sigma)) * k * k);
    total += kernel[k + radius];
  }
  for (let k = 0; k < kernel.length; k++) kernel[k] /= total;

  const { height, width } = grid;
  const rows = reflectTable(height, radius);
  const columns = reflectTable(width, radius);
  const alongColumns = new Float32Array(height * width);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      let sum = 0;
      for (let k = 0; k < kernel.length; k++) sum += kernel[k] * map[rows[row + k] * width + col];
      alongColumns[row * width + col] = sum;
    }
  }
  const blurred = new Float32Array(height * width);
  for (let row = 0; row < height; row++) {
    const base = row * width;
    for (let col = 0; col < width; col++) {
      let sum = 0;
      for (let k = 0; k < kernel.length; k++) {
        sum += kernel[k] * alongColumns[base + columns[col + k]];
      }
      blurred[base + col] = sum;
    }
  }
  return blurred;
}

/**
 * Population variance of `map` in a `window x window` neighbourhood of every cell (mode
 * "reflect"), as `scipy.ndimage.generic_filter(map, np.var, size=window)`. `window` must be odd.
 */
export function varianceFilter(map: ArrayLike<number>, grid: Grid, window: number): Float32Array {
  const { height, width } = grid;
  const half = (window - 1) / 2;
  const rows = reflectTable(height, half);
  const columns = reflectTable(width, half);
  const count = window * window;
  const values = new Float64Array(count);
  const variance = new Float32Array(height * width);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      let k = 0;
      let sum = 0;
      for (let dy = 0; dy < window; dy++) {
        const base = rows[row + dy] * width;
        for (let dx = 0; dx < window; dx++) {
          const value = map[base + columns[col + dx]];
          values[k++] = value;
          sum += value;
        }
      }
      const mean = sum / count;
      let squares = 0;
      for (let j = 0; j < count; j++) squares += (values[j] - mean) ** 2;
      variance[row * width + col] = squares / count;
    }
  }
  return variance;
}

/** `q`-th percentile of `values` with linear interpolation between order statistics (numpy's default). */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const position = (q / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** `[min, max]` of `values`. */
export function range(values: ArrayLike<number>): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < low) low = values[i];
    if (values[i] > high) high = values[i];
  }
  return [low, high];
}
