/**
 * The edit pipeline: one model on one device, doing edits end to end (instruction tokenized
 * and encoded, source VQ-encoded, MaskGIT sampling over the transformer step graph with region
 * hold, VQ decode, pixel-exact composite at the original size), with progress, previews and
 * cancellation.
 *
 * @example
 * ```ts
 * import { EditPipeline } from "@editmgt/editmgt/pipeline";
 *
 * const pipeline = await EditPipeline.load("https://example.com/models/editmgt-tiny/");
 * const region = await pipeline.previewRegion({
 *   image: { width: 1, height: 1, data: new Uint8ClampedArray([255, 0, 0, 255]) },
 *   instruction: "make the red circle blue",
 * });
 * console.log(region.width, region.height, region.lambda);
 * await pipeline.dispose();
 * ```
 *
 * @module
 */

export { type ResolvedEditOptions, resolveEditOptions } from "./options.ts";
export { EditPipeline, type EditPipelineLoadOptions } from "./pipeline.ts";
export { compositeEdit, keepMask, seamWidth } from "./region.ts";
export { checkInstruction } from "./text.ts";
export {
  alignOffsets,
  loadTokenizer,
  type TextLayout,
  type TextTokenizer,
  type TextTokens,
  tokenizeText,
} from "./tokenize.ts";
export type {
  DoneProgress,
  DownloadProgress,
  EditCallOptions,
  EditInput,
  EditLocalization,
  EditProgress,
  EditResult,
  EditTimings,
  GridMap,
  ImageSource,
  MaskSource,
  ReadyProgress,
  StepProgress,
} from "./types.ts";
export type { BinaryMask, RgbaImage, Size } from "../image/types.ts";
export type { TokenizedText } from "../localize/keywords.ts";
export type { FitMode, Rect } from "../image/fit.ts";
export type { EditOptions } from "../schema/options.ts";
export type { StepEvent } from "../sampler/options.ts";
// Backends, devices, sources and manifests, as the pipeline's options and results name them.
export type * from "../model/mod.ts";
