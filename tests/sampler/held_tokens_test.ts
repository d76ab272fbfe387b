import assert from "node:assert/strict";
import fc from "fast-check";
import { changeMap } from "../../src/localize/mod.ts";
import { keepMask } from "../../src/pipeline/region.ts";
import {
  maskLength,
  maskRatio,
  sample,
  type SampleOptions,
  type StepInput,
  type StepModel,
} from "../../src/sampler/mod.ts";
import { FakeStepModel, setUpSampling, TEXT_LENGTH } from "./fake_model.ts";

const problem = fc.record({
  height: fc.integer({ min: 1, max: 4 }),
  width: fc.integer({ min: 1, max: 4 }),
  codebookSize: fc.integer({ min: 2, max: 40 }),
  steps: fc.integer({ min: 2, max: 12 }),
  seed: fc.nat(),
  refSeed: fc.nat(),
  lambda: fc.constantFrom(0.3, 0.5, 0.7),
});

type Problem = typeof problem extends fc.Arbitrary<infer T> ? T : never;

function setUp(p: Problem, extra: Partial<SampleOptions>) {
  const attentionGrid = { height: p.height, width: p.width };
  return setUpSampling({ ...p, attentionHeight: p.height, attentionWidth: p.width }, {
    timestep: "mask-ratio",
    guidance: 1,
    gamma: 1,
    lambda: p.lambda,
    localization: { attentionGrid, textLength: TEXT_LENGTH, source: "change" },
    ...extra,
  });
}

const RUNS = { numRuns: 40 };

Deno.test("the change map is read once, from the first step's ref_logprob", async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const { model, options, tokenGrid } = setUp(p, {});
      const result = await sample(model, options);
      const first = await new FakeStepModel(model.layout).step(model.inputs[0]);
      assert.deepEqual(result.localization!.tokenMap, changeMap(first.refLogprob, tokenGrid));
      assert.equal(result.localization!.source, "change");
      assert.ok(result.localization!.tokenMap.every((value) => value >= 0 && value <= 1));
    }),
    RUNS,
  );
});

Deno.test('heldTokens "fixed": held tokens are the source after step 0 and the schedule counts only the free tokens', async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const { model, options, events, n } = setUp(p, { heldTokens: "fixed" });
      const result = await sample(model, options);
      const map = result.localization!.tokenMap;
      const held = map.reduce((count, value) => count + (value < p.lambda ? 1 : 0), 0);
      assert.equal(events[0].held, held);
      assert.ok(events.slice(1).every((event) => event.held === 0));
      const free = n - held;
      // Step 0 re-masks mask_len of the free tokens only; every held token is known from step 1.
      const expected = free === 0
        ? 0
        : maskLength(n, free / n, maskRatio("cosine", 0, p.steps), free);
      assert.equal(events[0].masked, Math.min(expected, free));
      model.inputs[1].tokens.forEach((token, j) => {
        if (map[j] < p.lambda) assert.equal(token, options.refTokens[j]);
      });
      map.forEach((value, j) =>
        value < p.lambda && assert.equal(result.tokens[j], options.refTokens[j])
      );
    }),
    RUNS,
  );
});

Deno.test('heldTokens "scheduled" (upstream): held tokens use up the tokens a step unmasks', async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const { model, options, events, n } = setUp(p, { heldTokens: "scheduled" });
      await sample(model, options);
      assert.equal(events[0].masked, maskLength(n, 1, maskRatio("cosine", 0, p.steps), n));
      const fixed = setUp(p, { heldTokens: "fixed" });
      await sample(fixed.model, fixed.options);
      assert.ok(events[0].masked >= fixed.events[0].masked);
    }),
    RUNS,
  );
});

Deno.test('with nothing held, "fixed" and "scheduled" make the same tokens', async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const runs = await Promise.all(
        (["fixed", "scheduled"] as const).map(async (heldTokens) => {
          const { model, options } = setUp(p, { heldTokens, lambda: 0 });
          return (await sample(model, options)).tokens;
        }),
      );
      assert.deepEqual(runs[0], runs[1]);
    }),
    RUNS,
  );
});

Deno.test("region hold and the composite never stop an edit the map got right", async () => {
  await fc.assert(
    fc.asyncProperty(problem, fc.constantFrom("fixed", "scheduled"), async (p, heldTokens) => {
      const { model, options } = setUp(p, { heldTokens });
      // A model that redraws every token it samples: the whole image is its edit.
      const redraws: StepModel = {
        async step(input: StepInput) {
          const output = await model.step(input);
          const sampled = input.refTokens.map((token) => (token + 1) % p.codebookSize);
          return { ...output, sampled };
        },
      };
      const result = await sample(redraws, options);
      const map = result.localization!.tokenMap;
      const keep = keepMask(result.tokens, options.refTokens, null);
      // Where the map reaches lambda the token is the model's and the composite takes it; only
      // tokens below lambda are held, and those are the source's.
      map.forEach((value, j) => assert.equal(keep[j], value < p.lambda ? 1 : 0, `token ${j}`));
    }),
    RUNS,
  );
});
