import { changeMap } from "./change.ts";
import type { Grid } from "./grid.ts";
import { type LocalizationLayout, localizationMap } from "./map.ts";

/** Where the localization map comes from. */
export const MAP_SOURCES = ["attention", "change"] as const;

/**
 * Where the localization map comes from: `"attention"`, upstream's text-to-image attention of
 * the localization blocks, read at every step; `"change"`, the step graph's `ref_logprob` at the
 * first step ({@linkcode changeMap}), read once.
 */
export type MapSource = typeof MAP_SOURCES[number];

/** The parts of one step's output a map is made from. */
export interface LocalizationOutput {
  /** `log p(source token)` per VQ token. */
  refLogprob: ArrayLike<number>;
  /** Text-to-image attention `[T, n]` of the localization blocks (n = transformer grid). */
  textAttention: ArrayLike<number>;
}

/** One step's localization map, as region hold and heatmaps use it. */
export interface StepLocalization {
  /** The map source. */
  source: MapSource;
  /**
   * The map that `lambda: "auto"` reads and heatmaps show, values in [0, 1]: the smoothed
   * attention map on the transformer grid, or the change map on the token grid.
   */
  map: Float32Array;
  /** Grid of `map`. */
  grid: Grid;
  /** The map on the VQ token grid: S_L, compared against lambda. */
  tokenMap: Float32Array;
}

/**
 * One step's localization map from the step graph's outputs, for `source`.
 *
 * @example
 * ```ts
 * import { localizeStep } from "@editmgt/editmgt";
 *
 * const layout = {
 *   textLength: 1,
 *   attentionGrid: { height: 2, width: 2 },
 *   tokenGrid: { height: 4, width: 4 },
 *   rows: "all" as const,
 * };
 * const output = { refLogprob: new Float32Array(16), textAttention: Float32Array.of(1, 0, 0, 0) };
 * console.log(localizeStep("change", output, layout).grid); // { height: 4, width: 4 }
 * console.log(localizeStep("attention", output, layout).grid); // { height: 2, width: 2 }
 * ```
 */
export function localizeStep(
  source: MapSource,
  output: LocalizationOutput,
  layout: LocalizationLayout,
): StepLocalization {
  if (source === "change") {
    const map = changeMap(output.refLogprob, layout.tokenGrid);
    return { source, map, grid: layout.tokenGrid, tokenMap: map };
  }
  const { attentionMap, tokenMap } = localizationMap(output.textAttention, layout);
  return { source, map: attentionMap, grid: layout.attentionGrid, tokenMap };
}
