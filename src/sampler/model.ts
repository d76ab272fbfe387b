/**
 * What the sampler feeds one transformer step (the step graph of DESIGN section 4). Text features
 * (context, pooled) and micro-conditioning belong to the model adapter, not to the sampler. The
 * arrays are the sampler's working buffers: read them during the call, copy what you keep.
 */
export interface StepInput {
  /** Current tokens, `h * w` row-major, the mask id where unknown (graph input `tokens`). */
  tokens: Int32Array;
  /** Source image tokens, `h * w`, never masked (graph input `ref_tokens`). */
  refTokens: Int32Array;
  /** Value of the graph input `timestep`, per the model's timestep convention. */
  timestep: number;
  /** `log(gamma)`, the attention bias towards the source stream (graph input `log_gamma`). */
  logGamma: number;
  /** Classifier-free guidance scale g in `u + g (c - u)` (graph input `guidance_scale`). */
  guidanceScale: number;
  /** One uniform in [0, 1) per token for the categorical draw (graph input `uniform`). */
  uniform: Float32Array;
}

/** What one transformer step returns (the step graph's outputs). */
export interface StepOutput {
  /** Drawn token per position, `h * w`, each in `[0, codebookSize)`. */
  sampled: Int32Array;
  /** `log(max(p[sampled], 1e-20))` per position. */
  sampledLogprob: Float32Array;
  /** `log(max(p[ref token], 1e-20))` per position. */
  refLogprob: Float32Array;
  /** Text-to-image attention of the localization blocks, `[T, n]` row-major, n = transformer grid. */
  textAttention: Float32Array;
}

/**
 * One step of the transformer, as the sampler sees it: an ONNX session behind an adapter in
 * production, a fake in tests.
 *
 * @example
 * ```ts
 * import type { StepInput, StepModel, StepOutput } from "@editmgt/editmgt/sampler";
 *
 * // A model that always draws token 0 with certainty and attends uniformly.
 * const model: StepModel = {
 *   step(input: StepInput): Promise<StepOutput> {
 *     const n = input.tokens.length;
 *     return Promise.resolve({
 *       sampled: new Int32Array(n),
 *       sampledLogprob: new Float32Array(n),
 *       refLogprob: new Float32Array(n).fill(-5),
 *       textAttention: new Float32Array(4 * (n / 4)).fill(1 / n),
 *     });
 *   },
 * };
 * ```
 */
export interface StepModel {
  /** Runs one step. `signal` lets an adapter give up early; the sampler also checks it. */
  step(input: StepInput, signal?: AbortSignal): Promise<StepOutput>;
}
