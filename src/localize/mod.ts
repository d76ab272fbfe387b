/**
 * Localization: from the step graph's text-to-image attention to the map S_L that region hold
 * compares against lambda. Keyword rows, row mean, min-max rescale, upstream's adaptive
 * smoothing, PyTorch-exact bicubic upsampling, and automatic lambda. Pure functions over typed
 * arrays.
 *
 * @module
 */

export { autoLambda, type AutoLambdaOptions } from "./auto_lambda.ts";
export { type Grid, gridSize } from "./grid.ts";
export {
  EDIT_VERBS,
  keywordRows,
  type RowSelection,
  STOP_WORDS,
  type TokenizedText,
} from "./keywords.ts";
export {
  type LocalizationLayout,
  localizationMap,
  type LocalizationMaps,
  minMaxRescale,
  rowMean,
  type TextRows,
} from "./map.ts";
export { gaussianFilter, percentile, smoothAdaptive, varianceFilter } from "./smooth.ts";
export { upsampleBicubic } from "./upsample.ts";
