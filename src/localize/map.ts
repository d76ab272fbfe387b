import { EditMGTError } from "../errors/mod.ts";
import { type Grid, gridSize } from "./grid.ts";
import { range, smoothAdaptive } from "./smooth.ts";
import { upsampleBicubic } from "./upsample.ts";

/** Which text rows of the attention to average: explicit row indices, or every row ("all"). */
export type TextRows = ArrayLike<number> | "all";

/**
 * Mean over the selected text rows of a row-major `[textLength, n]` text-to-image attention
 * (the step graph already averaged heads and layers). Returns the `n` image values.
 */
export function rowMean(
  attention: ArrayLike<number>,
  textLength: number,
  rows: TextRows,
): Float32Array {
  const n = attention.length / textLength;
  if (!Number.isInteger(n)) {
    throw new EditMGTError(
      "invalid_input",
      `attention has ${attention.length} values, not a multiple of ${textLength}`,
    );
  }
  const count = rows === "all" ? textLength : rows.length;
  for (let r = 0; rows !== "all" && r < count; r++) {
    if (!Number.isInteger(rows[r]) || rows[r] < 0 || rows[r] >= textLength) {
      throw new EditMGTError("invalid_input", `text row ${rows[r]} is outside [0, ${textLength})`);
    }
  }
  if (count === 0) throw new EditMGTError("invalid_input", "no text rows selected");
  const sum = new Float64Array(n);
  for (let r = 0; r < count; r++) {
    const base = (rows === "all" ? r : rows[r]) * n;
    for (let j = 0; j < n; j++) sum[j] += attention[base + j];
  }
  const mean = new Float32Array(n);
  for (let j = 0; j < n; j++) mean[j] = sum[j] / count;
  return mean;
}

/** Upstream's `rescale_scores`: `(s - min) / (max - min + 1e-8)`, so values lie in [0, 1]. */
export function minMaxRescale(values: ArrayLike<number>): Float32Array {
  const [low, high] = range(values);
  const span = high - low + 1e-8;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - low) / span;
  return out;
}

/** Where the attention comes from and where the map goes, for {@linkcode localizationMap}. */
export interface LocalizationLayout {
  /** Rows of the attention: the text length T of the step graph. */
  textLength: number;
  /** Grid of the attention's image columns (the transformer grid). */
  attentionGrid: Grid;
  /** Grid of the output map (the VQ token grid). */
  tokenGrid: Grid;
  /** Text rows to average: keyword rows from `keywordRows`, or "all" as upstream. */
  rows: TextRows;
}

/** The two forms of one step's localization map. */
export interface LocalizationMaps {
  /** Smoothed map on the transformer grid, values in [0, 1]: what `autoLambda` reads. */
  attentionMap: Float32Array;
  /** `attentionMap` upsampled bicubically to the VQ grid: S_L, compared against lambda. */
  tokenMap: Float32Array;
}

/**
 * One step's localization map S_L from the step graph's `text_attention`: mean over the selected
 * rows, min-max rescale, upstream's adaptive smoothing, bicubic upsample to the token grid.
 *
 * @example
 * ```ts
 * import { localizationMap } from "@editmgt/editmgt";
 *
 * const attention = new Float32Array(2 * 16).map((_, i) => (i % 16 === 5 ? 1 : 0.1));
 * const { tokenMap } = localizationMap(attention, {
 *   textLength: 2,
 *   attentionGrid: { height: 4, width: 4 },
 *   tokenGrid: { height: 8, width: 8 },
 *   rows: [1],
 * });
 * console.log(tokenMap.length); // 64
 * ```
 */
export function localizationMap(
  attention: ArrayLike<number>,
  layout: LocalizationLayout,
): LocalizationMaps {
  const expected = layout.textLength * gridSize(layout.attentionGrid);
  if (attention.length !== expected) {
    throw new EditMGTError(
      "invalid_input",
      `text attention has ${attention.length} values, expected ${expected}`,
    );
  }
  const mean = rowMean(attention, layout.textLength, layout.rows);
  const attentionMap = smoothAdaptive(minMaxRescale(mean), layout.attentionGrid);
  const tokenMap = upsampleBicubic(attentionMap, layout.attentionGrid, layout.tokenGrid);
  return { attentionMap, tokenMap };
}
