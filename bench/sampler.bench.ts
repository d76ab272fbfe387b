import { maskGitStep, sample, type SampleOptions, STREAM, Xoshiro128 } from "../src/sampler/mod.ts";
import { REAL, TOKENS, zeroCostModel } from "./fixtures.ts";

const STEPS = 12;
const refTokens = new Int32Array(TOKENS).map((_, j) => (j * 13) % REAL.codebookSize);

function options(extra: Partial<SampleOptions>): SampleOptions {
  return {
    refTokens,
    tokenGrid: REAL.tokenGrid,
    codebookSize: REAL.codebookSize,
    maskTokenId: REAL.maskTokenId,
    timestep: "step-index",
    steps: STEPS,
    guidance: 6,
    gamma: 1.1,
    seed: 1,
    localization: { attentionGrid: REAL.attentionGrid, textLength: REAL.textLength },
    ...extra,
  };
}

const model = zeroCostModel();

Deno.bench({
  name: `sample: ${STEPS} steps, lambda 0 (upstream default, map on the last step only)`,
  group: "sample",
  baseline: true,
  fn: async () => {
    await sample(model, options({ lambda: 0 }));
  },
});

Deno.bench({
  name: `sample: ${STEPS} steps, lambda 0.3, all 256 rows (map every step)`,
  group: "sample",
  fn: async () => {
    await sample(model, options({ lambda: 0.3 }));
  },
});

Deno.bench({
  name: `sample: ${STEPS} steps, lambda "auto", 3 keyword rows`,
  group: "sample",
  fn: async () => {
    await sample(
      model,
      options({
        lambda: "auto",
        localization: {
          attentionGrid: REAL.attentionGrid,
          textLength: REAL.textLength,
          rows: [3, 4, 5],
        },
      }),
    );
  },
});

const uniforms = new Float32Array(TOKENS);
const categorical = Xoshiro128.fromSeed(1, STREAM.categorical);
Deno.bench({
  name: "RNG: 4096 uniforms (one stream, one step)",
  group: "parts",
  fn: () => {
    categorical.fillUniform(uniforms);
  },
});

const half = new Int32Array(TOKENS).map((_, j) => (j % 2 ? REAL.maskTokenId : j % 100));
const stepOutput = {
  sampled: new Int32Array(TOKENS).map((_, j) => j % 8192),
  sampledLogprob: new Float32Array(TOKENS).map((_, j) => -(j % 97) / 10),
  refLogprob: new Float32Array(TOKENS).fill(-1),
  textAttention: new Float32Array(0),
};
const buffers = {
  prediction: new Int32Array(TOKENS),
  confidence: new Float64Array(TOKENS),
  scratch: new Float64Array(TOKENS),
};
const tokens = new Int32Array(TOKENS);
Deno.bench({
  name: "maskGitStep: 4096 tokens, half masked, re-mask 1000",
  group: "parts",
  fn: () => {
    tokens.set(half);
    maskGitStep(tokens, refTokens, stepOutput, {
      maskTokenId: REAL.maskTokenId,
      last: false,
      maskLength: 1000,
      temperature: 1.2,
      gumbelUniform: uniforms,
      holdMap: null,
      lambda: 0,
      fixHeld: false,
    }, buffers);
  },
});
