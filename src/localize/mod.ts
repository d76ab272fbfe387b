/**
 * Localization: from the step graph's outputs to the map S_L that region hold compares against
 * lambda. Two sources: upstream's text-to-image attention (keyword rows, row mean, min-max
 * rescale, adaptive smoothing, PyTorch-exact bicubic upsampling) and the change map read from
 * `ref_logprob`; automatic lambda. Pure functions over typed arrays.
 *
 * @module
 */

export { autoLambda, type AutoLambdaOptions } from "./auto_lambda.ts";
export { CHANGE_BLUR, changeMap } from "./change.ts";
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
export {
  type LocalizationOutput,
  localizeStep,
  MAP_SOURCES,
  type MapSource,
  type StepLocalization,
} from "./source.ts";
export { gaussianFilter, percentile, smoothAdaptive, varianceFilter } from "./smooth.ts";
export { upsampleBicubic } from "./upsample.ts";
