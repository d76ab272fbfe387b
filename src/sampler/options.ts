import { EditMGTError, type ErrorCode } from "../errors/mod.ts";
import {
  type AutoLambdaOptions,
  type Grid,
  MAP_SOURCES,
  type MapSource,
  type TextRows,
} from "../localize/mod.ts";
import { randomSeed } from "./rng.ts";
import { type MaskSchedule, temperatures, type TimestepConvention } from "./schedule.ts";

/** Most steps the sampler accepts; more is never useful (upstream's demo uses 36). */
export const MAX_STEPS = 1000;

/** Where the step graph's `text_attention` comes from, for region hold and the returned map. */
export interface SamplerLocalization {
  /** Grid of the attention's image columns: the transformer grid (VQ grid / 2). */
  attentionGrid: Grid;
  /** Rows of `text_attention`: the text length T. */
  textLength: number;
  /** Text rows averaged into the map (see `keywordRows`). Default "all", as upstream. */
  rows?: TextRows;
  /** Tuning of `lambda: "auto"`. */
  autoLambda?: AutoLambdaOptions;
  /**
   * Where the map comes from: "attention" (default, upstream: `text_attention`, read at every
   * step that needs it) or "change" (`ref_logprob` of the first step, read once; `changeMap`).
   */
  source?: MapSource;
}

/**
 * How region hold's held tokens meet the mask schedule: "scheduled" (upstream) gives a held
 * token the ref token but unmasks it only when its confidence wins a place in the step's
 * schedule, so held tokens use up the tokens a step unmasks; "fixed" makes a held token known
 * in the step it is held, and the schedule unmasks the other (free) tokens as if they were all
 * there was.
 */
export type HeldTokens = "scheduled" | "fixed";

/**
 * A decoding step finished: the one step event, from the sampler up to the pipeline, the engine,
 * the server's `step` events and the SDK (which add a preview image to it).
 */
export interface StepEvent {
  /** Event kind. */
  type: "step";
  /** 1-based number of the step that just finished. */
  index: number;
  /** Number of steps, known before the first. */
  total: number;
}

/** The sampler's progress event, sent after every step: the step event, with the step's state. */
export interface SamplerStepEvent extends StepEvent {
  /** Value that was fed to the graph's `timestep` input. */
  timestep: number;
  /** Tokens still masked after this step (0 after the last). */
  masked: number;
  /** Masked tokens that took the ref token in this step (region hold). */
  held: number;
  /** Lambda used in this step (the resolved value when lambda is "auto"). */
  lambda: number;
  /** This step's prediction of every token, for preview decodes (a copy, yours to keep). */
  prediction: Int32Array;
}

/** Options of {@linkcode sample}. Defaults are upstream's unless stated. */
export interface SampleOptions {
  /** VQ tokens of the source image, `h * w` row-major: the reference stream. Never modified. */
  refTokens: Int32Array;
  /** The VQ token grid (h, w). */
  tokenGrid: Grid;
  /** Number of codebook entries; sampled and ref tokens lie in `[0, codebookSize)`. */
  codebookSize: number;
  /** Id of the mask token (at least `codebookSize`). */
  maskTokenId: number;
  /** What the graph's `timestep` input means for this model. */
  timestep: TimestepConvention;
  /** Number of decoding steps, 1 to {@linkcode MAX_STEPS}. */
  steps: number;
  /** Classifier-free guidance scale, finite and >= 0. */
  guidance: number;
  /** Attention-injection strength gamma > 0 (the graph gets `log(gamma)`). Default 1. */
  gamma?: number;
  /**
   * Region-hold threshold in [0, 1], or "auto" to pick one per step from the map. 0 holds nothing
   * (upstream default), 1 keeps the source tokens. Default 0.
   */
  lambda?: number | "auto";
  /** How held tokens meet the mask schedule (see {@linkcode HeldTokens}). Default "scheduled". */
  heldTokens?: HeldTokens;
  /** Gumbel temperature: `[first, last]` for `linspace(first, last, steps)`, or a scalar T for `linspace(T, 0.01, steps)`. Default `[2, 0]`. */
  temperature?: number | readonly [number, number];
  /** Mask schedule. Default "cosine". */
  schedule?: MaskSchedule;
  /** Seed, a non-negative safe integer. Default: a fresh random 32-bit seed (returned). */
  seed?: number;
  /** Inpainting: `h * w` flags, nonzero where tokens are regenerated; the rest stay as the source. */
  userMask?: ArrayLike<number>;
  /** Attention layout; required unless lambda is 0. Without it no map is returned. */
  localization?: SamplerLocalization;
  /** Checked before and after every step; aborting rejects with code `aborted`. */
  signal?: AbortSignal;
  /** Called after every step. */
  onProgress?: (event: SamplerStepEvent) => void;
}

/** Options after validation, with defaults filled in and per-step values precomputed. */
export interface SamplePlan {
  /** As in {@linkcode SampleOptions}. */
  refTokens: Int32Array;
  /** As in {@linkcode SampleOptions}. */
  tokenGrid: Grid;
  /** `h * w`. */
  tokenCount: number;
  /** As in {@linkcode SampleOptions}. */
  codebookSize: number;
  /** As in {@linkcode SampleOptions}. */
  maskTokenId: number;
  /** As in {@linkcode SampleOptions}. */
  timestep: TimestepConvention;
  /** As in {@linkcode SampleOptions}. */
  steps: number;
  /** As in {@linkcode SampleOptions}. */
  guidance: number;
  /** `log(gamma)`. */
  logGamma: number;
  /** As in {@linkcode SampleOptions}, default applied. */
  lambda: number | "auto";
  /** Temperature of every step. */
  temperatures: Float64Array;
  /** As in {@linkcode SampleOptions}, default applied. */
  schedule: MaskSchedule;
  /** The given or drawn seed. */
  seed: number;
  /** 0/1 flags, or null without inpainting. */
  userMask: Uint8Array | null;
  /** Layout with defaults applied, or null. */
  localization: Required<SamplerLocalization> | null;
  /** As in {@linkcode SampleOptions}, default applied. */
  heldTokens: HeldTokens;
}

function fail(code: ErrorCode, option: string, message: string): never {
  throw new EditMGTError(code, message, { details: { option } });
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function checkGrid(grid: Grid | undefined, option: string): Grid {
  if (!grid || !isPositiveInteger(grid.height) || !isPositiveInteger(grid.width)) {
    fail("invalid_option", option, `${option} must have positive integer height and width`);
  }
  return { height: grid.height, width: grid.width };
}

function checkTemperature(value: SampleOptions["temperature"]): number | readonly [number, number] {
  const pair = typeof value === "number" ? [value] : value;
  const valid = Array.isArray(pair) && (typeof value === "number" || pair.length === 2) &&
    pair.every((t) => typeof t === "number" && Number.isFinite(t) && t >= 0);
  if (!valid) {
    fail(
      "invalid_option",
      "temperature",
      `temperature must be a finite number >= 0 or a pair of them, got ${JSON.stringify(value)}`,
    );
  }
  return value as number | readonly [number, number];
}

function checkLocalization(
  localization: SamplerLocalization,
): Required<SamplerLocalization> {
  const attentionGrid = checkGrid(localization.attentionGrid, "localization.attentionGrid");
  const { textLength, rows = "all", autoLambda = {}, source = "attention" } = localization;
  if (!MAP_SOURCES.includes(source)) {
    fail(
      "invalid_option",
      "localization.source",
      `source must be one of ${MAP_SOURCES.join(", ")}, got ${JSON.stringify(source)}`,
    );
  }
  if (!isPositiveInteger(textLength)) {
    fail("invalid_option", "localization.textLength", "textLength must be a positive integer");
  }
  if (rows !== "all") {
    const valid = rows.length > 0 &&
      Array.prototype.every.call(
        rows,
        (row: number) => Number.isInteger(row) && row >= 0 && row < textLength,
      );
    if (!valid) {
      fail(
        "invalid_option",
        "localization.rows",
        `rows must be "all" or a non-empty list of integers in [0, ${textLength})`,
      );
    }
  }
  return { attentionGrid, textLength, rows, autoLambda, source };
}

/**
 * Validates {@linkcode SampleOptions} and fills in defaults.
 *
 * @throws {EditMGTError} `invalid_option` for a bad option, `invalid_input` for arrays of the
 * wrong size or with out-of-range tokens; `details.option` names the culprit.
 */
export function resolveSampleOptions(options: SampleOptions): SamplePlan {
  const tokenGrid = checkGrid(options.tokenGrid, "tokenGrid");
  const tokenCount = tokenGrid.height * tokenGrid.width;
  const { codebookSize, maskTokenId, steps, guidance } = options;
  if (!isPositiveInteger(codebookSize)) {
    fail("invalid_option", "codebookSize", "codebookSize must be a positive integer");
  }
  if (!Number.isSafeInteger(maskTokenId) || maskTokenId < codebookSize) {
    fail("invalid_option", "maskTokenId", `maskTokenId must be an integer >= ${codebookSize}`);
  }
  if (options.timestep !== "step-index" && options.timestep !== "mask-ratio") {
    fail("invalid_option", "timestep", `timestep must be "step-index" or "mask-ratio"`);
  }
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    fail("invalid_option", "steps", `steps must be an integer in [1, ${MAX_STEPS}], got ${steps}`);
  }
  if (typeof guidance !== "number" || !Number.isFinite(guidance) || guidance < 0) {
    fail("invalid_option", "guidance", `guidance must be a finite number >= 0, got ${guidance}`);
  }
  const gamma = options.gamma ?? 1;
  if (typeof gamma !== "number" || !Number.isFinite(gamma) || gamma <= 0) {
    fail("invalid_option", "gamma", `gamma must be a finite number > 0, got ${gamma}`);
  }
  const lambda = options.lambda ?? 0;
  if (lambda !== "auto" && !(typeof lambda === "number" && lambda >= 0 && lambda <= 1)) {
    fail("invalid_option", "lambda", `lambda must be a number in [0, 1] or "auto", got ${lambda}`);
  }
  const temperature = checkTemperature(options.temperature ?? [2, 0]);
  const schedule = options.schedule ?? "cosine";
  if (schedule !== "cosine" && schedule !== "linear") {
    fail("invalid_option", "schedule", `schedule must be "cosine" or "linear"`);
  }
  const seed = options.seed ?? randomSeed();
  if (!Number.isSafeInteger(seed) || seed < 0) {
    fail("invalid_option", "seed", `seed must be a non-negative safe integer, got ${seed}`);
  }
  const localization = options.localization ? checkLocalization(options.localization) : null;
  const heldTokens = options.heldTokens ?? "scheduled";
  if (heldTokens !== "scheduled" && heldTokens !== "fixed") {
    fail("invalid_option", "heldTokens", `heldTokens must be "scheduled" or "fixed"`);
  }
  if (localization === null && lambda !== 0) {
    fail("invalid_option", "lambda", "region hold (lambda != 0) needs the localization layout");
  }

  const { refTokens } = options;
  if (!(refTokens instanceof Int32Array) || refTokens.length !== tokenCount) {
    fail("invalid_input", "refTokens", `refTokens must be an Int32Array of ${tokenCount} tokens`);
  }
  for (let j = 0; j < tokenCount; j++) {
    if (refTokens[j] < 0 || refTokens[j] >= codebookSize) {
      fail("invalid_input", "refTokens", `refTokens[${j}] = ${refTokens[j]} is not a codebook id`);
    }
  }
  const userMask = options.userMask ? checkUserMask(options.userMask, tokenCount) : null;

  return {
    refTokens,
    tokenGrid,
    tokenCount,
    codebookSize,
    maskTokenId,
    timestep: options.timestep,
    steps,
    guidance,
    logGamma: Math.log(gamma),
    lambda,
    temperatures: temperatures(temperature, steps),
    schedule,
    seed,
    userMask,
    localization,
    heldTokens,
  };
}

function checkUserMask(mask: ArrayLike<number>, tokenCount: number): Uint8Array {
  if (mask.length !== tokenCount) {
    fail(
      "invalid_input",
      "userMask",
      `userMask has ${mask.length} flags, the grid has ${tokenCount}`,
    );
  }
  const flags = Uint8Array.from(mask, (flag) => (flag ? 1 : 0));
  if (!flags.includes(1)) {
    fail("invalid_input", "userMask", "userMask selects no token; mark the region to edit");
  }
  return flags;
}
