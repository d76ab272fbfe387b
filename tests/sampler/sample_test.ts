import assert from "node:assert/strict";
import fc from "fast-check";
import { isEditMGTError } from "../../src/errors/mod.ts";
import {
  firstStepLocalization,
  maskLength,
  maskRatio,
  sample,
  type SampleOptions,
  type SamplerStepEvent,
} from "../../src/sampler/mod.ts";
import { FakeStepModel, setUpSampling, TEXT_LENGTH } from "./fake_model.ts";

/** A random sampling problem: grids, codebook, source tokens, steps, seed. */
const problem = fc.record({
  attentionHeight: fc.integer({ min: 1, max: 5 }),
  attentionWidth: fc.integer({ min: 1, max: 5 }),
  codebookSize: fc.integer({ min: 2, max: 40 }),
  steps: fc.integer({ min: 1, max: 16 }),
  seed: fc.nat(),
  refSeed: fc.nat(),
  timestep: fc.constantFrom("step-index" as const, "mask-ratio" as const),
  schedule: fc.constantFrom("cosine" as const, "linear" as const),
});

type Problem = typeof problem extends fc.Arbitrary<infer T> ? T : never;

function setUp(p: Problem, extra: Partial<SampleOptions> = {}) {
  return setUpSampling(p, { timestep: p.timestep, schedule: p.schedule, ...extra });
}

const RUNS = { numRuns: 40 };

Deno.test("known tokens never change, from one step to the next and in the result", async () => {
  await fc.assert(
    fc.asyncProperty(problem, fc.constantFrom(0, 0.3, 1, "auto" as const), async (p, lambda) => {
      const { model, options } = setUp(p, { lambda });
      const result = await sample(model, options);
      const states = [...model.inputs.map((input) => input.tokens), result.tokens];
      for (let i = 1; i < states.length; i++) {
        states[i - 1].forEach((token, j) => {
          if (token !== options.maskTokenId) assert.equal(states[i][j], token);
        });
      }
    }),
    RUNS,
  );
});

Deno.test("the result holds no mask id and only codebook ids", async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const { model, options } = setUp(p);
      const { tokens } = await sample(model, options);
      assert.ok(tokens.every((token) => token >= 0 && token < p.codebookSize));
    }),
    RUNS,
  );
});

Deno.test("masked counts follow the clamped schedule exactly", async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const { model, options, events, n } = setUp(p);
      await sample(model, options);
      let unknown = n;
      for (let i = 0; i < p.steps; i++) {
        const masked = model.inputs[i].tokens.filter((t) => t === options.maskTokenId).length;
        assert.equal(masked, unknown, `step ${i} starts with ${unknown} masked tokens`);
        const expected = i === p.steps - 1
          ? 0
          : maskLength(n, 1, maskRatio(p.schedule, i, p.steps), unknown);
        assert.equal(events[i].masked, expected, `step ${i} re-masks mask_len tokens`);
        unknown = expected;
      }
    }),
    RUNS,
  );
});

Deno.test("the timestep input follows the model's convention", async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const { model, options, n } = setUp(p);
      await sample(model, options);
      model.inputs.forEach((input, i) => {
        const masked = input.tokens.filter((t) => t === options.maskTokenId).length;
        const expected = p.timestep === "step-index" ? p.steps - 1 - i : masked / n;
        assert.equal(input.timestep, expected);
        assert.equal(input.logGamma, Math.log(1.1));
        assert.equal(input.guidanceScale, 3);
      });
    }),
    RUNS,
  );
});

Deno.test("lambda = 1 returns the ref tokens exactly", async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const { model, options, refTokens } = setUp(p, { lambda: 1 });
      const { tokens } = await sample(model, options);
      assert.deepEqual(tokens, refTokens);
    }),
    RUNS,
  );
});

Deno.test("lambda = 0 holds nothing and equals a run without localization", async () => {
  await fc.assert(
    fc.asyncProperty(problem, async (p) => {
      const held = setUp(p, { lambda: 0 });
      const plain = setUp(p, { lambda: 0, localization: undefined });
      const withMap = await sample(held.model, held.options);
      const withoutMap = await sample(plain.model, plain.options);
      assert.ok(held.events.every((event) => event.held === 0));
      assert.deepEqual(withMap.tokens, withoutMap.tokens);
      assert.equal(withoutMap.localization, null);
      assert.equal(withMap.localization?.tokenMap.length, held.n);
    }),
    RUNS,
  );
});

Deno.test("the same seed gives the same tokens; different seeds differ", async () => {
  await fc.assert(
    fc.asyncProperty(problem, fc.nat(), async (p, otherSeed) => {
      fc.pre(otherSeed !== p.seed && p.codebookSize >= 8 && p.attentionHeight >= 2);
      const first = await sample(setUp(p).model, setUp(p).options);
      const again = setUp(p);
      const second = await sample(again.model, again.options);
      const other = setUp({ ...p, seed: otherSeed });
      const third = await sample(other.model, other.options);
      assert.deepEqual(first.tokens, second.tokens);
      assert.equal(first.seed, p.seed);
      assert.notDeepEqual(first.tokens, third.tokens);
    }),
    RUNS,
  );
});

Deno.test("a missing seed is drawn at random and returned, and reproduces the run", async () => {
  const p = {
    attentionHeight: 4,
    attentionWidth: 4,
    codebookSize: 32,
    steps: 6,
    seed: 0,
    refSeed: 1,
    timestep: "step-index" as const,
    schedule: "cosine" as const,
  };
  const random = setUp(p, { seed: undefined });
  const first = await sample(random.model, random.options);
  const replay = setUp({ ...p, seed: first.seed });
  assert.deepEqual((await sample(replay.model, replay.options)).tokens, first.tokens);
});

Deno.test("inpainting never touches tokens outside the user mask nor the reference stream", async () => {
  await fc.assert(
    fc.asyncProperty(
      problem,
      fc.array(fc.boolean(), { minLength: 400, maxLength: 400 }),
      fc.constantFrom(0, 0.5, "auto" as const),
      async (p, flags, lambda) => {
        const n = 4 * p.attentionHeight * p.attentionWidth;
        const userMask = Uint8Array.from(flags.slice(0, n), Number);
        fc.pre(userMask.includes(1));
        const { model, options, refTokens, events } = setUp(p, { userMask, lambda });
        const { tokens } = await sample(model, options);
        userMask.forEach((flag, j) => {
          if (!flag) assert.equal(tokens[j], refTokens[j]);
        });
        assert.deepEqual(options.refTokens, refTokens, "the caller's ref tokens are not modified");
        for (const input of model.inputs) assert.deepEqual(input.refTokens, refTokens);
        const masked = userMask.reduce((sum, flag) => sum + flag, 0);
        const first = model.inputs[0].tokens;
        assert.equal(first.filter((t) => t === options.maskTokenId).length, masked);
        if (p.steps > 1) {
          assert.equal(
            events[0].masked,
            maskLength(n, masked / n, maskRatio(p.schedule, 0, p.steps), masked),
          );
        }
      },
    ),
    RUNS,
  );
});

Deno.test("region hold keeps the source wherever the map is below lambda", async () => {
  // Attention 4x4 with one bright cell: after smoothing, a blob around (1, 1).
  const attentionGrid = { height: 4, width: 4 };
  const textAttention = new Float32Array(TEXT_LENGTH * 16).map((_, i) => (i % 16 === 5 ? 1 : 0));
  const model = new FakeStepModel({
    codebookSize: 64,
    textLength: TEXT_LENGTH,
    attentionCells: 16,
    textAttention,
  });
  const refTokens = new Int32Array(64).map((_, j) => j);
  const events: SamplerStepEvent[] = [];
  const result = await sample(model, {
    refTokens,
    tokenGrid: { height: 8, width: 8 },
    codebookSize: 64,
    maskTokenId: 64,
    timestep: "step-index",
    steps: 8,
    guidance: 2,
    lambda: 0.3,
    seed: 5,
    localization: { attentionGrid, textLength: TEXT_LENGTH, rows: [0, 2] },
    onProgress: (event) => events.push(event),
  });
  const map = result.localization!.tokenMap;
  const below = [...map.keys()].filter((j) => map[j] < 0.3);
  const above = [...map.keys()].filter((j) => map[j] >= 0.3);
  assert.ok(below.length > 0 && above.length > 0, "the map has both regions");
  for (const j of below) assert.equal(result.tokens[j], refTokens[j]);
  assert.ok(above.some((j) => result.tokens[j] !== refTokens[j]), "the edit region is resampled");
  assert.equal(events[0].held, below.length, "every masked token below lambda is held in step 1");
});

Deno.test('lambda "auto" holds the background of a clear object and nothing of a flat map', async () => {
  const run = async (textAttention: Float32Array) => {
    const model = new FakeStepModel({
      codebookSize: 16,
      textLength: 1,
      attentionCells: 64,
      textAttention,
    });
    const events: SamplerStepEvent[] = [];
    const result = await sample(model, {
      refTokens: new Int32Array(256).fill(3),
      tokenGrid: { height: 16, width: 16 },
      codebookSize: 16,
      maskTokenId: 16,
      timestep: "mask-ratio",
      steps: 4,
      guidance: 1,
      lambda: "auto",
      seed: 9,
      localization: { attentionGrid: { height: 8, width: 8 }, textLength: 1 },
      onProgress: (event) => events.push(event),
    });
    return { result, events };
  };
  const object = new Float32Array(64).map((
    _,
    i,
  ) => (i % 8 >= 2 && i % 8 < 5 && i >= 16 && i < 40 ? 1 : 0.02 * (i % 3)));
  const clear = await run(object);
  assert.ok(clear.result.localization!.lambda > 0);
  assert.ok(clear.events[0].held > 0);
  const flat = await run(new Float32Array(64).fill(0.25));
  assert.equal(flat.result.localization!.lambda, 0);
  assert.ok(flat.events.every((event) => event.held === 0));
});

Deno.test("progress reports every step with a copy of the prediction", async () => {
  const p = {
    attentionHeight: 2,
    attentionWidth: 3,
    codebookSize: 10,
    steps: 5,
    seed: 11,
    refSeed: 2,
    timestep: "step-index" as const,
    schedule: "cosine" as const,
  };
  const { model, options, events } = setUp(p);
  const result = await sample(model, options);
  assert.deepEqual(events.map((event) => event.index), [1, 2, 3, 4, 5]);
  assert.ok(events.every((event) => event.total === 5 && event.type === "step"));
  assert.deepEqual(events.at(-1)!.prediction, result.tokens);
  assert.ok(events[0].prediction.every((token) => token < p.codebookSize));
});

Deno.test("one step fills every token at once", async () => {
  const p = {
    attentionHeight: 3,
    attentionWidth: 3,
    codebookSize: 12,
    steps: 1,
    seed: 3,
    refSeed: 4,
    timestep: "step-index" as const,
    schedule: "cosine" as const,
  };
  const { model, options } = setUp(p);
  const { tokens } = await sample(model, options);
  assert.equal(model.inputs.length, 1);
  assert.equal(model.inputs[0].timestep, 0);
  assert.ok(tokens.every((token) => token < 12));
});

Deno.test("abort stops within one step", async () => {
  for (const abortAt of [0, 2, 5]) {
    const p = {
      attentionHeight: 2,
      attentionWidth: 2,
      codebookSize: 8,
      steps: 8,
      seed: 1,
      refSeed: 1,
      timestep: "step-index" as const,
      schedule: "cosine" as const,
    };
    const controller = new AbortController();
    const { model, options } = setUp(p, { signal: controller.signal });
    model.onStep = (index) => {
      if (index === abortAt) controller.abort(new Error("user cancelled"));
    };
    await assert.rejects(sample(model, options), (error) => {
      assert.ok(isEditMGTError(error, "aborted"));
      assert.equal((error.cause as Error).message, "user cancelled");
      return true;
    });
    assert.equal(model.inputs.length, abortAt + 1, `aborted during step ${abortAt}`);
  }
});

Deno.test("an already aborted signal never runs the model", async () => {
  const p = {
    attentionHeight: 2,
    attentionWidth: 2,
    codebookSize: 8,
    steps: 8,
    seed: 1,
    refSeed: 1,
    timestep: "step-index" as const,
    schedule: "cosine" as const,
  };
  const { model, options } = setUp(p, { signal: AbortSignal.abort() });
  await assert.rejects(sample(model, options), (error) => isEditMGTError(error, "aborted"));
  assert.equal(model.inputs.length, 0);
});

Deno.test("firstStepLocalization runs step 0 of sample: the same model input, map and lambda", async () => {
  await fc.assert(
    fc.asyncProperty(problem, fc.boolean(), async (p, inpaint) => {
      const n = 4 * p.attentionHeight * p.attentionWidth;
      const userMask = inpaint ? Uint8Array.from({ length: n }, (_, j) => j % 3) : undefined;
      const run = setUp(p, { lambda: "auto", userMask });
      await sample(run.model, run.options);
      const first = setUp(p, { lambda: "auto", userMask, onProgress: () => assert.fail() });
      const map = await firstStepLocalization(first.model, first.options);
      assert.equal(first.model.inputs.length, 1, "one model step only");
      assert.deepEqual(first.model.inputs[0], run.model.inputs[0]);
      assert.equal(map.lambda, run.events[0].lambda);
      assert.equal(map.map.length, p.attentionHeight * p.attentionWidth);
      assert.equal(map.tokenMap.length, n);
      const once = setUp({ ...p, steps: 1 }, { lambda: "auto", userMask });
      const { localization } = await sample(once.model, once.options);
      const single = setUp({ ...p, steps: 1 }, { lambda: "auto", userMask });
      assert.deepEqual(await firstStepLocalization(single.model, single.options), localization);
    }),
    RUNS,
  );
});

Deno.test("firstStepLocalization without a localization layout is an invalid_option", async () => {
  const p = {
    attentionHeight: 2,
    attentionWidth: 2,
    codebookSize: 8,
    steps: 4,
    seed: 1,
    refSeed: 1,
    timestep: "step-index" as const,
    schedule: "cosine" as const,
  };
  const { model, options } = setUp(p, { localization: undefined });
  await assert.rejects(
    firstStepLocalization(model, options),
    (error) => isEditMGTError(error, "invalid_option") && /localization/.test(error.message),
  );
  assert.equal(model.inputs.length, 0);
});
