import assert from "node:assert/strict";
import { type ErrorCode, isEditMGTError } from "../../src/errors/mod.ts";
import { sample, type SampleOptions, type StepOutput } from "../../src/sampler/mod.ts";
import { FakeStepModel } from "./fake_model.ts";

function valid(): SampleOptions {
  return {
    refTokens: new Int32Array(16).fill(2),
    tokenGrid: { height: 4, width: 4 },
    codebookSize: 8,
    maskTokenId: 8,
    timestep: "step-index",
    steps: 4,
    guidance: 2,
    seed: 1,
    localization: { attentionGrid: { height: 2, width: 2 }, textLength: 3 },
  };
}

const cases: [string, Partial<Record<keyof SampleOptions, unknown>>, ErrorCode, string][] = [
  ["steps < 1", { steps: 0 }, "invalid_option", "steps"],
  ["absurd steps", { steps: 100_000 }, "invalid_option", "steps"],
  ["fractional steps", { steps: 2.5 }, "invalid_option", "steps"],
  ["NaN guidance", { guidance: NaN }, "invalid_option", "guidance"],
  ["negative guidance", { guidance: -1 }, "invalid_option", "guidance"],
  ["infinite guidance", { guidance: Infinity }, "invalid_option", "guidance"],
  ["gamma 0", { gamma: 0 }, "invalid_option", "gamma"],
  ["lambda above 1", { lambda: 1.5 }, "invalid_option", "lambda"],
  ["negative lambda", { lambda: -0.1 }, "invalid_option", "lambda"],
  ["NaN lambda", { lambda: NaN }, "invalid_option", "lambda"],
  ["lambda word", { lambda: "always" }, "invalid_option", "lambda"],
  [
    "lambda without localization",
    { lambda: 0.5, localization: undefined },
    "invalid_option",
    "lambda",
  ],
  ["negative temperature", { temperature: -1 }, "invalid_option", "temperature"],
  ["temperature triple", { temperature: [2, 1, 0] }, "invalid_option", "temperature"],
  ["unknown schedule", { schedule: "exponential" }, "invalid_option", "schedule"],
  ["unknown timestep", { timestep: "seconds" }, "invalid_option", "timestep"],
  ["negative seed", { seed: -1 }, "invalid_option", "seed"],
  ["unsafe seed", { seed: 2 ** 60 }, "invalid_option", "seed"],
  ["empty grid", { tokenGrid: { height: 0, width: 4 } }, "invalid_option", "tokenGrid"],
  ["mask id inside the codebook", { maskTokenId: 3 }, "invalid_option", "maskTokenId"],
  [
    "bad text length",
    {
      localization: { attentionGrid: { height: 2, width: 2 }, textLength: 0 },
    },
    "invalid_option",
    "localization.textLength",
  ],
  [
    "text row out of range",
    {
      localization: { attentionGrid: { height: 2, width: 2 }, textLength: 3, rows: [0, 3] },
    },
    "invalid_option",
    "localization.rows",
  ],
  [
    "no text rows",
    {
      localization: { attentionGrid: { height: 2, width: 2 }, textLength: 3, rows: [] },
    },
    "invalid_option",
    "localization.rows",
  ],
  ["ref tokens of the wrong size", { refTokens: new Int32Array(15) }, "invalid_input", "refTokens"],
  [
    "ref tokens as a plain array",
    { refTokens: new Array(16).fill(0) },
    "invalid_input",
    "refTokens",
  ],
  [
    "ref token outside the codebook",
    {
      refTokens: new Int32Array(16).fill(8),
    },
    "invalid_input",
    "refTokens",
  ],
  ["user mask of the wrong size", { userMask: new Uint8Array(9) }, "invalid_input", "userMask"],
  ["empty user mask", { userMask: new Uint8Array(16) }, "invalid_input", "userMask"],
];

for (const [name, change, code, option] of cases) {
  Deno.test(`bad option: ${name} is rejected with ${code} before the model runs`, async () => {
    const model = new FakeStepModel({ codebookSize: 8, textLength: 3, attentionCells: 4 });
    const options = { ...valid(), ...change } as SampleOptions;
    await assert.rejects(sample(model, options), (error) => {
      assert.ok(isEditMGTError(error, code), `${error}`);
      assert.equal(error.details?.option, option);
      assert.equal(error.status, 400);
      return true;
    });
    assert.equal(model.inputs.length, 0);
  });
}

Deno.test("valid options run (the table above changes one thing each)", async () => {
  const model = new FakeStepModel({ codebookSize: 8, textLength: 3, attentionCells: 4 });
  const result = await sample(model, valid());
  assert.equal(result.tokens.length, 16);
});

const brokenOutputs: [string, (output: StepOutput) => StepOutput][] = [
  ["short sampled", (o) => ({ ...o, sampled: o.sampled.subarray(1) })],
  ["short log-probs", (o) => ({ ...o, sampledLogprob: o.sampledLogprob.subarray(1) })],
  ["short ref log-probs", (o) => ({ ...o, refLogprob: new Float32Array(0) })],
  ["wrong attention size", (o) => ({ ...o, textAttention: new Float32Array(5) })],
  ["mask id sampled", (o) => ({ ...o, sampled: o.sampled.map(() => 8) })],
  ["negative token sampled", (o) => ({ ...o, sampled: o.sampled.map(() => -1) })],
  ["NaN log-prob", (o) => ({ ...o, refLogprob: o.refLogprob.map(() => NaN) })],
];

for (const [name, breakIt] of brokenOutputs) {
  Deno.test(`a model that breaks the step contract (${name}) fails with model_output`, async () => {
    const fake = new FakeStepModel({ codebookSize: 8, textLength: 3, attentionCells: 4 });
    const model = {
      step: async (...args: Parameters<FakeStepModel["step"]>) => breakIt(await fake.step(...args)),
    };
    await assert.rejects(sample(model, valid()), (error) => isEditMGTError(error, "model_output"));
  });
}
