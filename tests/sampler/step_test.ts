import assert from "node:assert/strict";
import { gumbel, maskGitStep, type MaskGitStepParams } from "../../src/sampler/mod.ts";

const MASK = 9;

function run(tokens: number[], logprobs: number[], params: Partial<MaskGitStepParams>) {
  const n = tokens.length;
  const state = Int32Array.from(tokens);
  const report = maskGitStep(
    state,
    new Int32Array(n).fill(7),
    {
      sampled: new Int32Array(n).map((_, j) => j % 5),
      sampledLogprob: Float32Array.from(logprobs),
      refLogprob: new Float32Array(n).fill(-0.5),
      textAttention: new Float32Array(0),
    },
    {
      maskTokenId: MASK,
      last: false,
      maskLength: 1,
      temperature: 0,
      gumbelUniform: new Float32Array(n).fill(0.5),
      holdMap: null,
      lambda: 0,
      fixHeld: false,
      ...params,
    },
    {
      prediction: new Int32Array(n),
      confidence: new Float64Array(n),
      scratch: new Float64Array(n),
    },
  );
  return { tokens: [...state], ...report };
}

Deno.test("re-masking cuts at sort(confidence)[mask_len] and masks only confidences below it", () => {
  // Confidences (T = 0): -4, -1, -3, -2; sorted -4 -3 -2 -1; mask_len 2 -> cut -2 -> mask -4, -3.
  const result = run([MASK, MASK, MASK, MASK], [-4, -1, -3, -2], { maskLength: 2 });
  assert.deepEqual(result.tokens, [MASK, 1, MASK, 3]);
  assert.equal(result.masked, 2);
});

Deno.test("ties at the cut stay unmasked, as upstream's strict comparison does", () => {
  // sorted -3 -2 -2 -2; mask_len 2 -> cut -2: only the -3 is masked.
  const result = run([MASK, MASK, MASK, MASK], [-2, -3, -2, -2], { maskLength: 2 });
  assert.deepEqual(result.tokens, [0, MASK, 2, 3]);
});

Deno.test("known tokens keep their value and are never re-masked, even with mask_len = unknown", () => {
  const result = run([4, MASK, 4, MASK], [-100, -1, -100, -2], { maskLength: 2 });
  assert.deepEqual(result.tokens, [4, MASK, 4, MASK]);
});

Deno.test("the last step fills every token with the prediction", () => {
  const result = run([4, MASK, MASK, MASK], [0, -1, -9, -2], { last: true, maskLength: 3 });
  assert.deepEqual(result.tokens, [4, 1, 2, 3]);
  assert.equal(result.masked, 0);
});

Deno.test("held tokens take the ref token and carry the ref log-prob as confidence", () => {
  // Map: token 0 and 1 below lambda 0.5 (held, confidence -0.5), 2 and 3 above.
  const holdMap = Float32Array.of(0.1, 0.2, 0.9, 0.7);
  const result = run([MASK, MASK, MASK, 4], [-3, -3, -0.1, 0], {
    holdMap,
    lambda: 0.5,
    maskLength: 1,
  });
  assert.equal(result.held, 2);
  // Confidences -0.5, -0.5, -0.1, +inf; mask_len 1: cut = sorted[1] = -0.5 and -0.5 < -0.5 is
  // false, so the tie leaves everything unmasked (as upstream); mask_len 2 masks both held tokens.
  assert.deepEqual(result.tokens, [7, 7, 2, 4]);
  const stricter = run([MASK, MASK, MASK, 4], [-3, -3, -0.1, 0], {
    holdMap,
    lambda: 0.5,
    maskLength: 2,
  });
  assert.deepEqual(stricter.tokens, [MASK, MASK, 2, 4]);
});

Deno.test("temperature scales Gumbel noise from the Gumbel uniforms", () => {
  // Equal log-probs; Gumbel noise decides: the token with the smallest uniform is least confident.
  const gumbelUniform = Float32Array.of(0.9, 0.1, 0.5, 0.7);
  const result = run([MASK, MASK, MASK, MASK], [-1, -1, -1, -1], { temperature: 1, gumbelUniform });
  assert.deepEqual(result.tokens, [0, MASK, 2, 3]);
});

Deno.test("Gumbel noise uses upstream's clamps", () => {
  assert.equal(gumbel(0), -Math.log(-Math.log(1e-20)));
  assert.equal(gumbel(0.5), -Math.log(Math.log(2)));
  assert.ok(Number.isFinite(gumbel(1 - 2 ** -24)));
  assert.equal(gumbel(1), -Math.log(1e-20));
});
