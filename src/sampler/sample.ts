import { EditMGTError } from "../errors/mod.ts";
import { autoLambda, localizationMap, type LocalizationMaps } from "../localize/mod.ts";
import type { StepModel, StepOutput } from "./model.ts";
import { resolveSampleOptions, type SampleOptions, type SamplePlan } from "./options.ts";
import { STREAM, Xoshiro128 } from "./rng.ts";
import { maskLength, maskRatio, timestepValue } from "./schedule.ts";
import { type MaskGitBuffers, maskGitStep } from "./step.ts";

/** The last step's localization, returned for heatmaps and diagnostics. */
export interface SampleLocalization extends LocalizationMaps {
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
  const startingMaskRatio = countMasked(tokens, maskTokenId) / n;
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
    throwIfAborted(signal);
    const unknown = countMasked(tokens, maskTokenId);
    const timestep = timestepValue(plan.timestep, step, steps, unknown / n);
    categorical.fillUniform(uniform);
    gumbelStream.fillUniform(gumbelUniform);
    const output = await model.step(
      {
        tokens,
        refTokens,
        timestep,
        logGamma: plan.logGamma,
        guidanceScale: plan.guidance,
        uniform,
      },
      signal,
    );
    throwIfAborted(signal);
    checkOutput(output, plan);

    const last = step === steps - 1;
    if (plan.localization && (plan.lambda !== 0 || last)) {
      const maps = localizationMap(output.textAttention, {
        ...plan.localization,
        tokenGrid: plan.tokenGrid,
      });
      const lambda = plan.lambda === "auto"
        ? autoLambda(maps.attentionMap, plan.localization.autoLambda)
        : plan.lambda;
      localization = { ...maps, lambda };
    }
    const lambda = localization?.lambda ?? 0;
    const report = maskGitStep(tokens, refTokens, output, {
      maskTokenId,
      last,
      maskLength: maskLength(n, startingMaskRatio, maskRatio(plan.schedule, step, steps), unknown),
      temperature: plan.temperatures[step],
      gumbelUniform,
      holdMap: localization?.tokenMap ?? null,
      lambda,
    }, buffers);
    onProgress?.({
      type: "step",
      step: step + 1,
      steps,
      timestep,
      masked: report.masked,
      held: report.held,
      lambda,
      prediction: buffers.prediction.slice(),
    });
  }
  return { tokens, seed: plan.seed, steps, localization };
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
