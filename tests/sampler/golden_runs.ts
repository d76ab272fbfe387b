/**
 * Writes tests/fixtures/sampler/golden_runs.json: complete runs of `sample()` against a step model defined by formulas,
 * so another implementation (the torch reference sampler in tools/) can check exact agreement.
 *   deno run --allow-write=tests/fixtures/sampler tests/sampler/golden_runs.ts
 * tests/sampler/golden_test.ts checks that `sample()` still reproduces the file.
 *
 * @module
 */
import {
  sample,
  type SampleOptions,
  type StepInput,
  type StepModel,
  type StepOutput,
} from "../../src/sampler/mod.ts";

/** The formula model (also written into the JSON as text). */
export const MODEL_FORMULAS = {
  sampled: "min(K-1, floor(uniform[j] * K))",
  sampledLogprob: "float32(-((sampled[j] * 31 + j * 17) % 101) / 10)",
  refLogprob: "float32(-((ref[j] * 13 + j * 7) % 89) / 10)",
  textAttention:
    "float32(((r * 5 + c * 3) % 11) / 11 + (c in hot ? 2 : 0)), row r of T, cell c of m",
};

/** A step model computed from the formulas above. */
export function formulaModel(
  codebookSize: number,
  textLength: number,
  cells: number,
  hot: number[],
): StepModel {
  const attention = new Float32Array(textLength * cells);
  for (let r = 0; r < textLength; r++) {
    for (let c = 0; c < cells; c++) {
      attention[r * cells + c] = ((r * 5 + c * 3) % 11) / 11 + (hot.includes(c) ? 2 : 0);
    }
  }
  return {
    step(input: StepInput): Promise<StepOutput> {
      const n = input.tokens.length;
      const sampled = new Int32Array(n);
      const sampledLogprob = new Float32Array(n);
      const refLogprob = new Float32Array(n);
      for (let j = 0; j < n; j++) {
        sampled[j] = Math.min(codebookSize - 1, Math.floor(input.uniform[j] * codebookSize));
        sampledLogprob[j] = -((sampled[j] * 31 + j * 17) % 101) / 10;
        refLogprob[j] = -((input.refTokens[j] * 13 + j * 7) % 89) / 10;
      }
      return Promise.resolve({ sampled, sampledLogprob, refLogprob, textAttention: attention });
    },
  };
}

/** The runs: name, model layout, and the options beyond the common ones. */
export const RUNS = [
  { name: "cosine-step-index", options: { steps: 12, timestep: "step-index" } },
  {
    name: "linear-mask-ratio-scalar-T",
    options: { steps: 7, schedule: "linear", timestep: "mask-ratio", temperature: 3 },
  },
  { name: "hold-lambda-0.4-keyword-rows", options: { steps: 10, lambda: 0.4, rows: [1, 2] } },
  { name: "hold-auto", options: { steps: 8, lambda: "auto" } },
  { name: "inpainting", options: { steps: 9, userMaskRows: [2, 3, 4, 5] } },
  { name: "one-step", options: { steps: 1, seed: 3 } },
] as const;

const GRID = { height: 12, width: 12 };
const ATTENTION_GRID = { height: 6, width: 6 };
const K = 50;
const T = 4;
const HOT = [14, 15, 20, 21];

/** Runs one golden configuration and returns its record. */
export async function runGolden(run: (typeof RUNS)[number]) {
  const n = GRID.height * GRID.width;
  const refTokens = new Int32Array(n).map((_, j) => (j * 7 + 3) % K);
  const extra = run.options as Record<string, unknown>;
  const userMask = extra.userMaskRows
    ? new Uint8Array(n).map((
      _,
      j,
    ) => ((extra.userMaskRows as number[]).includes(Math.floor(j / GRID.width)) ? 1 : 0))
    : undefined;
  const masked: number[] = [];
  const held: number[] = [];
  const lambdas: number[] = [];
  const inputs: { timestep: number; masked: number; uniformHead: number[] }[] = [];
  const model = formulaModel(K, T, ATTENTION_GRID.height * ATTENTION_GRID.width, HOT);
  const options: SampleOptions = {
    refTokens,
    tokenGrid: GRID,
    codebookSize: K,
    maskTokenId: K,
    timestep: (extra.timestep as SampleOptions["timestep"]) ?? "step-index",
    steps: extra.steps as number,
    guidance: 2,
    gamma: 1.1,
    seed: (extra.seed as number) ?? 20240601,
    lambda: (extra.lambda as SampleOptions["lambda"]) ?? 0,
    temperature: (extra.temperature as number) ?? [2, 0],
    schedule: (extra.schedule as SampleOptions["schedule"]) ?? "cosine",
    userMask,
    localization: {
      attentionGrid: ATTENTION_GRID,
      textLength: T,
      rows: (extra.rows as number[]) ?? "all",
    },
    onProgress: (event) => {
      masked.push(event.masked);
      held.push(event.held);
      lambdas.push(event.lambda);
    },
  };
  const result = await sample(
    {
      step: (input, signal) => {
        inputs.push({
          timestep: input.timestep,
          masked: input.tokens.filter((t) => t === K).length,
          uniformHead: Array.from(input.uniform.subarray(0, 4)),
        });
        return model.step(input, signal);
      },
    } as Parameters<typeof sample>[0],
    options,
  );
  return {
    name: run.name,
    options: { ...run.options, seed: options.seed, guidance: 2, gamma: 1.1 },
    inputs,
    masked,
    held,
    lambdas,
    tokens: Array.from(result.tokens),
    tokenMap: Array.from(result.localization!.tokenMap, (v) => Math.round(v * 1e7) / 1e7),
  };
}

if (import.meta.main) {
  const runs = [];
  for (const run of RUNS) runs.push(await runGolden(run));
  const golden = {
    note: "written by tests/sampler/golden_runs.ts from src/sampler (TypeScript)",
    grid: GRID,
    attentionGrid: ATTENTION_GRID,
    codebookSize: K,
    maskTokenId: K,
    textLength: T,
    hot: HOT,
    refTokens: "(j * 7 + 3) % K",
    userMask: "rows of the token grid listed in userMaskRows",
    model: MODEL_FORMULAS,
    runs,
  };
  const target = new URL("../fixtures/sampler/golden_runs.json", import.meta.url);
  await Deno.writeTextFile(target, JSON.stringify(golden) + "\n");
  console.log(`wrote ${target.pathname}`);
}
