/**
 * The one sampler: MaskGIT decoding as upstream EditMGT does it (cosine schedule, upstream
 * clamps, Gumbel-noised confidence, known tokens never re-masked), plus region hold, inpainting
 * and a portable seeded RNG. Pure TypeScript over typed arrays; it drives any {@linkcode StepModel}.
 *
 * @example
 * ```ts
 * import { maskLength, maskRatio } from "@editmgt/editmgt/sampler";
 *
 * // Tokens still masked after step 0 of 12 on a 64x64 grid, starting fully masked.
 * console.log(maskLength(4096, 1, maskRatio("cosine", 0, 12), 4096)); // 4060
 * ```
 *
 * @module
 */

export type {
  AutoLambdaOptions,
  Grid,
  LocalizationMaps,
  MapSource,
  StepLocalization,
  TextRows,
} from "../localize/mod.ts";
export { MAP_SOURCES } from "../localize/mod.ts";
export type { StepInput, StepModel, StepOutput } from "./model.ts";
export {
  type HeldTokens,
  MAX_STEPS,
  type SampleOptions,
  type SamplerLocalization,
  type SamplerStepEvent,
  type StepEvent,
} from "./options.ts";
export { randomSeed, STREAM, Xoshiro128 } from "./rng.ts";
export {
  firstStepLocalization,
  sample,
  type SampleLocalization,
  type SampleResult,
} from "./sample.ts";
export {
  maskLength,
  maskRatio,
  type MaskSchedule,
  temperatures,
  type TimestepConvention,
  timestepValue,
} from "./schedule.ts";
export {
  gumbel,
  type MaskGitBuffers,
  maskGitStep,
  type MaskGitStepParams,
  type MaskGitStepReport,
} from "./step.ts";
