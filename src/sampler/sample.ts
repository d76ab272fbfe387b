import { EditMGTError } from "../errors/mod.ts";
import { autoLambda, localizeStep, type StepLocalization } from "../localize/mod.ts";
import type { StepModel, StepOutput } from "./model.ts";
import { resolveSampleOptions, type SampleOptions, type SamplePlan } from "./options.ts";
import { STREAM, Xoshiro128 } from "./rng.ts";
import { maskLength, maskRatio, timestepValue } from "./schedule.ts";
import { countHeld, type MaskGitBuffers, maskGitStep } from "./step.ts";

/**
 * The localization region hold used last (the last step's attention map, or the first step's
 * change map), returned for heatmaps and diagnostics.
 */
export interface SampleLocalization extends StepLocalization {
  /** Lambda used in the last step (resolved when "auto"; 0 means nothing was held). */
  lambda: number;
}

/** Result of {@linkcode sample}. */
export interface SampleResult {
  /** Final tokens, `h * w`, every one a codebook id (no mask id). */
  tokens: Int32Array;
  /** Seed that produced them (the given one or the random one that was drawn). */
  seed: number;
  /** Number of steps that ran. */
  steps: number;
  /** The last step's localization map, or null without a localization layout. */
  localization: SampleLocalization | null;
}

/**
 * Decodes tokens with MaskGIT from a fully masked start (or the user mask's region), driving
 * `model` one step at a time, as upstream EditMGT inference does, with region hold, inpainting,
 * a portable seeded RNG, progress events and cancellation. Pure: no I/O, no onnxruntime.
 *
 * Each step i of N: draw `uniform` (categorical stream) and Gumbel uniforms (Gumbel stream);
 * run the model; compute S_L from its `text_attention` when region hold or the returned map
 * needs it; then {@linkcode maskGitStep} with `mask_len` from the schedule.
 *
 * @throws {EditMGTError} `invalid_option` / `invalid_input` for bad options (before the model
 * runs), `aborted` when `signal` aborts, `model_output` when the model breaks the step contract.
 *
 * @example
 * ```ts
 * import { sample, type StepInput } from "@editmgt/editmgt/sampler";
 *
 * const n = 16; // a 4x4 token grid
 * const model = {
 *   step: (input: StepInput) =>
 *     Promise.resolve({
 *       sampled: new Int32Array(n).map((_, j) => Math.floor(input.uniform[j] * 8)),
 *       sampledLogprob: new Float32Array(n).fill(Math.log(1 / 8)),
 *       refLogprob: new Float32Array(n).fill(Math.log(1 / 8)),
 *       textAttention: new Float32Array(0),
 *     }),
 * };
 * const result = await sample(model, {
 *   refTokens: new Int32Array(n),
 *   tokenGrid: { height: 4, width: 4 },
 *   codebookSize: 8,
 *   maskTokenId: 8,
 *   timestep: "step-index",
 *   steps: 4,
 *   guidance: 2,
 *   seed: 42,
 * });
 * console.log(result.tokens.length, result.seed); // 16 42
 * ```
 */
export async function sample(model: StepModel, options: SampleOptions): Promise<SampleResult> {
  const plan = resolveSampleOptions(options);
  const { signal, onProgress } = options;
  const { tokenCount: n, maskTokenId, steps, refTokens } = plan;

  const tokens = initialTokens(plan);
  const startingMasked = countMasked(tokens, maskTokenId);
  // Tokens region hold has made known so far (heldTokens "fixed"): the schedule leaves them out.
  let fixed = 0;
  const categorical = Xoshiro128.fromSeed(plan.seed, STREAM.categorical);
  const gumbelStream = Xoshiro128.fromSeed(plan.seed, STREAM.gumbel);
  const uniform = new Float32Array(n);
  const gumbelUniform = new Float32Array(n);
  const buffers: MaskGitBuffers = {
    prediction: new Int32Array(n),
    confidence: new Float64Array(n),
    scratch: new Float64Array(n),
  };
  let localization: SampleLocalization | null = null;

  for (let step = 0; step < steps; step++) {
    const unknown = countMasked(tokens, maskTokenId);
    gumbelStream.fillUniform(gumbelUniform);
    const { output, timestep } = await runStep(model, plan, tokens, step, {
      uniform: categorical.fillUniform(uniform),
      maskedShare: unknown / n,
      signal,
    });

    const last = step === steps - 1;
    if (readsMap(plan, step, last)) localization = stepLocalization(output, plan);
    const lambda = localization?.lambda ?? 0;
    const holdMap = localization?.tokenMap ?? null;
    const fixHeld = plan.heldTokens === "fixed";
    const fixing = fixHeld ? countHeld(tokens, maskTokenId, holdMap, lambda) : 0;
    fixed += fixing;
    // mask_len over the free tokens: upstream's formula when nothing is fixed.
    const free = startingMasked - fixed;
    const report = maskGitStep(tokens, refTokens, output, {
      maskTokenId,
      last,
      maskLength: maskLength(n, free / n, maskRatio(plan.schedule, step, steps), unknown - fixing),
      temperature: plan.temperatures[step],
      gumbelUniform,
      holdMap,
      lambda,
      fixHeld,
    }, buffers);
    onProgress?.({
      type: "step",
      index: step + 1,
      total: steps,
      timestep,
      masked: report.masked,
      held: report.held,
      lambda,
      prediction: buffers.prediction.slice(),
    });
  }
  return { tokens, seed: plan.seed, steps, localization };
}

/**
 * The localization of the first decoding step alone: what {@linkcode sample} would compute in
 * its step 0 with the same options (the same starting tokens, seed, timestep and lambda), without
 * the rest of the loop. It shows where an instruction acts before the edit is made. Pure, like
 * `sample`; `options.onProgress` is not called.
 *
 * @throws {EditMGTError} as {@linkcode sample}, and `invalid_option` without
 * `options.localization`.
 *
 * @example
 * ```ts
 * import { firstStepLocalization, type StepInput } from "@editmgt/editmgt/sampler";
 *
 * const n = 16; // a 4x4 token grid, a 2x2 attention grid, 3 text rows
 * const model = {
 *   step: (input: StepInput) =>
 *     Promise.resolve({
 *       sampled: new Int32Array(n),
 *       sampledLogprob: new Float32Array(n),
 *       refLogprob: new Float32Array(n),
 *       textAttention: new Float32Array(3 * 4).map((_, j) => (j % 4 === 0 ? 1 : 0)),
 *     }),
 * };
 * const map = await firstStepLocalization(model, {
 *   refTokens: new Int32Array(n),
 *   tokenGrid: { height: 4, width: 4 },
 *   codebookSize: 8,
 *   maskTokenId: 8,
 *   timestep: "step-index",
 *   steps: 4,
 *   guidance: 2,
 *   localization: { attentionGrid: { height: 2, width: 2 }, textLength: 3 },
 * });
 * console.log(map.map.length, map.tokenMap.length); // 4 16
 * ```
 */
export async function firstStepLocalization(
  model: StepModel,
  options: SampleOptions,
): Promise<SampleLocalization> {
  const plan = resolveSampleOptions(options);
  if (plan.localization === null) {
    throw new EditMGTError(
      "invalid_option",
      "the first step's localization needs the localization layout (options.localization)",
      { details: { option: "localization" } },
    );
  }
  const tokens = initialTokens(plan);
  const uniform = Xoshiro128.fromSeed(plan.seed, STREAM.categorical)
    .fillUniform(new Float32Array(plan.tokenCount));
  const { output } = await runStep(model, plan, tokens, 0, {
    uniform,
    maskedShare: countMasked(tokens, plan.maskTokenId) / plan.tokenCount,
    signal: options.signal,
  });
  return stepLocalization(output, plan);
}

/** What one step draws and knows beside the tokens. */
interface StepContext {
  /** The categorical stream's uniforms for this step. */
  uniform: Float32Array;
  /** Share of the tokens still masked when the step starts (the `mask-ratio` timestep). */
  maskedShare: number;
  signal: AbortSignal | undefined;
}

/** Runs the model for step `step` of the plan on `tokens` and checks what it returned. */
async function runStep(
  model: StepModel,
  plan: SamplePlan,
  tokens: Int32Array,
  step: number,
  { uniform, maskedShare, signal }: StepContext,
): Promise<{ output: StepOutput; timestep: number }> {
  throwIfAborted(signal);
  const timestep = timestepValue(plan.timestep, step, plan.steps, maskedShare);
  const output = await model.step(
    {
      tokens,
      refTokens: plan.refTokens,
      timestep,
      logGamma: plan.logGamma,
      guidanceScale: plan.guidance,
      uniform,
    },
    signal,
  );
  throwIfAborted(signal);
  checkOutput(output, plan);
  return { output, timestep };
}

/** The localization maps of a step's `text_attention`, with the lambda region hold uses. */
function stepLocalization(output: StepOutput, plan: SamplePlan): SampleLocalization {
  const layout = plan.localization!;
  const map = localizeStep(layout.source, output, { ...layout, tokenGrid: plan.tokenGrid });
  const lambda = plan.lambda === "auto" ? autoLambda(map.map, layout.autoLambda) : plan.lambda;
  return { ...map, lambda };
}

/**
 * Whether step `step` reads the map: the attention map at every step when region hold is on
 * and at the last (for the returned map); the change map at the first step only, since later
 * steps no longer mask every token it needs.
 */
function readsMap(plan: SamplePlan, step: number, last: boolean): boolean {
  if (plan.localization === null) return false;
  if (plan.localization.source === "change") return step === 0;
  return plan.lambda !== 0 || last;
}

/** All mask, or (inpainting) the ref tokens with the user mask's region masked. */
function initialTokens(plan: SamplePlan): Int32Array {
  const { userMask, refTokens, maskTokenId } = plan;
  if (userMask === null) return new Int32Array(plan.tokenCount).fill(maskTokenId);
  return refTokens.map((token, j) => (userMask[j] ? maskTokenId : token));
}

function countMasked(tokens: Int32Array, maskTokenId: number): number {
  let count = 0;
  for (let j = 0; j < tokens.length; j++) if (tokens[j] === maskTokenId) count++;
  return count;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new EditMGTError("aborted", "sampling was aborted", { cause: signal.reason });
  }
}

/** Rejects model output that breaks the step-graph contract. */
function checkOutput(output: StepOutput, plan: SamplePlan): void {
  const n = plan.tokenCount;
  const sizes: [string, number, number][] = [
    ["sampled", output.sampled?.length, n],
    ["sampledLogprob", output.sampledLogprob?.length, n],
    ["refLogprob", output.refLogprob?.length, n],
  ];
  if (plan.localization) {
    const { textLength, attentionGrid } = plan.localization;
    sizes.push([
      "textAttention",
      output.textAttention?.length,
      textLength * attentionGrid.height * attentionGrid.width,
    ]);
  }
  for (const [name, actual, expected] of sizes) {
    if (actual !== expected) {
      throw new EditMGTError(
        "model_output",
        `model step returned ${name} of length ${actual}, expected ${expected}`,
      );
    }
  }
  const { sampled, sampledLogprob, refLogprob } = output;
  for (let j = 0; j < n; j++) {
    if (!(sampled[j] >= 0 && sampled[j] < plan.codebookSize)) {
      throw new EditMGTError(
        "model_output",
        `model step sampled token ${sampled[j]} at ${j}, outside [0, ${plan.codebookSize})`,
      );
    }
    if (Number.isNaN(sampledLogprob[j]) || Number.isNaN(refLogprob[j])) {
      throw new EditMGTError("model_output", `model step returned a NaN log-prob at ${j}`);
    }
  }
}
