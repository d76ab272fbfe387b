import { EditMGTError } from "../errors/mod.ts";
import { type Grid, gridSize } from "./grid.ts";
import { gaussianFilter } from "./smooth.ts";

/**
 * Standard deviation, in VQ tokens, of the Gaussian blur of the change map. Chosen on the tiny
 * model's development set (`bench/localize/sources.ts`): IoU with the true edit 0.84 at
 * thresholds 0.3-0.5 (unblurred 0.82-0.83, sigma 0.75 a sharper peak, sigma 1 lower).
 */
export const CHANGE_BLUR = 0.5;

/**
 * The change map: per VQ token, the probability that the edit changes it, read from the step
 * graph's `ref_logprob` (the log-probability of the source token) at a step where the token is
 * still masked, the first step of an edit: `1 - exp(ref_logprob)`, then a Gaussian blur of
 * `blur` tokens (mode "reflect"; 0 for none). Tokens the model expects to keep score near 0,
 * tokens it means to redraw near 1. It costs no extra graph run, and it lies on the token grid
 * itself, where the attention map is the transformer grid upsampled.
 *
 * @throws {EditMGTError} `invalid_input` when `refLogprob` does not cover `grid`.
 *
 * @example
 * ```ts
 * import { changeMap } from "@editmgt/editmgt";
 *
 * // A 4x4 grid where the model expects every source token but one.
 * const refLogprob = new Float32Array(16).map((_, j) => (j === 5 ? Math.log(0.01) : -0.01));
 * const map = changeMap(refLogprob, { height: 4, width: 4 }, 0);
 * console.log(map[5] > 0.98, map[0] < 0.02); // true true
 * ```
 */
export function changeMap(
  refLogprob: ArrayLike<number>,
  grid: Grid,
  blur: number = CHANGE_BLUR,
): Float32Array {
  if (refLogprob.length !== gridSize(grid)) {
    throw new EditMGTError(
      "invalid_input",
      `refLogprob has ${refLogprob.length} values, the token grid needs ${gridSize(grid)}`,
    );
  }
  const change = Float32Array.from(refLogprob, (logprob) => 1 - Math.exp(Math.min(0, logprob)));
  return blur > 0 ? gaussianFilter(change, grid, blur) : change;
}
