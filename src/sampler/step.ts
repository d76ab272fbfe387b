import type { StepOutput } from "./model.ts";
import { selectKth } from "./select.ts";

/** Everything {@linkcode maskGitStep} needs besides the tokens and the model's output. */
export interface MaskGitStepParams {
  /** Id of the mask token. */
  maskTokenId: number;
  /** Whether this is the last step (it fills every token and re-masks none). */
  last: boolean;
  /** Tokens to re-mask after this step (from {@linkcode maskLength}); unused on the last step. */
  maskLength: number;
  /** Gumbel temperature of this step. */
  temperature: number;
  /** One uniform per token, turned into Gumbel noise for the confidence. */
  gumbelUniform: Float32Array;
  /** Localization map S_L on the token grid, or null when nothing is held. */
  holdMap: Float32Array | null;
  /** Region-hold threshold: 0 holds nothing, 1 holds every still-masked token. */
  lambda: number;
  /**
   * Held tokens become known in this step (never re-masked), as with `heldTokens: "fixed"`;
   * false (upstream) lets them compete for the step's unmasking budget by their confidence.
   */
  fixHeld: boolean;
}

/** Scratch arrays reused across steps (all `n` long). */
export interface MaskGitBuffers {
  /** This step's prediction of every token (known, held or sampled). */
  prediction: Int32Array;
  /** Re-mask confidence per token. */
  confidence: Float64Array;
  /** Scratch copy of `confidence`, reordered to find the cut. */
  scratch: Float64Array;
}

/** What one step did. */
export interface MaskGitStepReport {
  /** Still-masked tokens that took the ref token in this step. */
  held: number;
  /** Tokens masked after this step. */
  masked: number;
}

/** Gumbel noise from one uniform, with upstream's clamps: `-log(max(-log(max(u, 1e-20)), 1e-20))`. */
export function gumbel(uniform: number): number {
  return -Math.log(Math.max(-Math.log(Math.max(uniform, 1e-20)), 1e-20));
}

/**
 * Whether region hold forces token `j`, if still masked, to the ref token: `lambda >= 1`, or
 * `lambda > 0` and `S_L[j] < lambda`.
 */
function holds(holdMap: Float32Array | null, lambda: number, j: number): boolean {
  return holdMap !== null && lambda > 0 && (lambda >= 1 || holdMap[j] < lambda);
}

/** Still-masked tokens that region hold forces to the ref token (see {@linkcode maskGitStep}). */
export function countHeld(
  tokens: Int32Array,
  maskTokenId: number,
  holdMap: Float32Array | null,
  lambda: number,
): number {
  let held = 0;
  for (let j = 0; j < tokens.length; j++) {
    if (tokens[j] === maskTokenId && holds(holdMap, lambda, j)) held++;
  }
  return held;
}

/**
 * One MaskGIT decoding step over `tokens`, in place (upstream `Scheduler.step`), knowing nothing of
 * the model:
 *
 * 1. prediction: known tokens stay; a masked token takes the ref token when region hold applies
 *    (`lambda >= 1`, or `lambda > 0` and `S_L < lambda`) and the sampled token otherwise;
 * 2. last step: the prediction is the result;
 * 3. otherwise confidence `logp + T * Gumbel(u)`, with `logp` the sampled or ref log-prob and
 *    `+Infinity` for known tokens (so they are never re-masked) and, with `fixHeld`, for held
 *    tokens; `cut = sort(confidence)[maskLength]`; tokens with `confidence < cut` become the mask
 *    again, the rest take the prediction.
 *
 * Confidences are computed in float64 from the float32 inputs; the cut is found by selection,
 * which gives the same value as sorting.
 */
export function maskGitStep(
  tokens: Int32Array,
  refTokens: Int32Array,
  output: StepOutput,
  params: MaskGitStepParams,
  buffers: MaskGitBuffers,
): MaskGitStepReport {
  const { maskTokenId, holdMap, lambda, fixHeld } = params;
  const { prediction, confidence, scratch } = buffers;
  const n = tokens.length;
  let held = 0;
  for (let j = 0; j < n; j++) {
    if (tokens[j] !== maskTokenId) {
      prediction[j] = tokens[j];
      confidence[j] = Infinity;
    } else if (holds(holdMap, lambda, j)) {
      prediction[j] = refTokens[j];
      confidence[j] = fixHeld ? Infinity : output.refLogprob[j];
      held++;
    } else {
      prediction[j] = output.sampled[j];
      confidence[j] = output.sampledLogprob[j];
    }
  }
  if (params.last) {
    tokens.set(prediction);
    return { held, masked: 0 };
  }

  const { temperature, gumbelUniform } = params;
  for (let j = 0; j < n; j++) {
    if (tokens[j] === maskTokenId) confidence[j] += temperature * gumbel(gumbelUniform[j]);
  }
  scratch.set(confidence);
  const cut = params.maskLength < n ? selectKth(scratch, params.maskLength) : Infinity;
  let masked = 0;
  for (let j = 0; j < n; j++) {
    if (confidence[j] < cut) {
      tokens[j] = maskTokenId;
      masked++;
    } else {
      tokens[j] = prediction[j];
    }
  }
  return { held, masked };
}
