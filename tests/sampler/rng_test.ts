import assert from "node:assert/strict";
import fc from "fast-check";
import { STREAM, Xoshiro128 } from "../../src/sampler/mod.ts";

const reference = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/sampler/reference.json", import.meta.url)),
);

Deno.test("xoshiro128** matches the published sequence from state [1, 2, 3, 4]", () => {
  const rng = Xoshiro128.fromState(reference.fixedState.state);
  const outputs = reference.fixedState.outputs.map(() => rng.nextUint32());
  assert.deepEqual(outputs, reference.fixedState.outputs);
  assert.deepEqual(outputs.slice(0, 4), [11520, 0, 5927040, 70819200]);
});

Deno.test("SplitMix64 seeding gives the same streams as an independent Python implementation", () => {
  for (const { seed, stream, outputs } of reference.seeded) {
    const rng = Xoshiro128.fromSeed(seed, stream);
    assert.deepEqual(outputs.map(() => rng.nextUint32()), outputs, `seed ${seed} stream ${stream}`);
  }
});

Deno.test("the categorical and Gumbel streams of one seed differ", () => {
  const categorical = Xoshiro128.fromSeed(42, STREAM.categorical).fillUniform(new Float32Array(64));
  const gumbel = Xoshiro128.fromSeed(42, STREAM.gumbel).fillUniform(new Float32Array(64));
  assert.notDeepEqual(categorical, gumbel);
});

Deno.test("uniforms are float32-exact and lie in [0, 1)", () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.constantFrom(0, 1), (seed, stream) => {
      const rng = Xoshiro128.fromSeed(seed, stream);
      for (let i = 0; i < 256; i++) {
        const u = rng.nextUniform();
        assert.ok(u >= 0 && u < 1);
        assert.equal(Math.fround(u), u);
        assert.equal(u * 2 ** 24, Math.floor(u * 2 ** 24));
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("the same seed repeats its draws and another seed does not", () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (seed, other) => {
      fc.pre(seed !== other);
      const draw = (s: number) => Xoshiro128.fromSeed(s, 0).fillUniform(new Float32Array(16));
      assert.deepEqual(draw(seed), draw(seed));
      assert.notDeepEqual(draw(seed), draw(other));
    }),
    { numRuns: 100 },
  );
});

Deno.test("uniforms are roughly uniform (mean and variance of 100k draws)", () => {
  const draws = Xoshiro128.fromSeed(7, 0).fillUniform(new Float32Array(100_000));
  const mean = draws.reduce((sum, u) => sum + u, 0) / draws.length;
  const variance = draws.reduce((sum, u) => sum + (u - mean) ** 2, 0) / draws.length;
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`);
});

Deno.test("an all-zero state is refused", () => {
  assert.throws(() => Xoshiro128.fromState([0, 0, 0, 0]), RangeError);
});
