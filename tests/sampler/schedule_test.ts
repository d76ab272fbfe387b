import assert from "node:assert/strict";
import fc from "fast-check";
import { maskLength, maskRatio, temperatures, timestepValue } from "../../src/sampler/mod.ts";

const reference = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/sampler/reference.json", import.meta.url)),
);

Deno.test("temperatures follow torch.linspace (float32 reference)", () => {
  for (const { first, last, steps, values } of reference.linspace) {
    const ours = temperatures([first, last], steps);
    assert.equal(ours.length, steps);
    ours.forEach((t, i) => {
      assert.ok(Math.abs(t - values[i]) < 1e-6, `linspace(${first}, ${last}, ${steps})[${i}]`);
    });
  }
});

Deno.test("a scalar temperature T means linspace(T, 0.01, steps)", () => {
  const ours = temperatures(3, 5);
  assert.deepEqual([...ours], [...temperatures([3, 0.01], 5)]);
  assert.equal(ours[0], 3);
  assert.ok(Math.abs(ours[4] - 0.01) < 1e-12);
});

Deno.test("the default temperature schedule runs from 2 down to exactly 0", () => {
  const ours = temperatures([2, 0], 12);
  assert.equal(ours[0], 2);
  assert.equal(ours[11], 0);
});

Deno.test("cosine and linear schedules start near 1 and end at 0", () => {
  assert.ok(Math.abs(maskRatio("cosine", 11, 12)) < 1e-15);
  assert.equal(maskRatio("linear", 11, 12), 0);
  assert.equal(maskRatio("linear", 0, 4), 0.75);
  assert.equal(maskRatio("cosine", 0, 2), Math.cos(Math.PI / 4));
});

Deno.test("mask_len is floor(N * ratio) clamped to [1, unknown - 1]", () => {
  assert.equal(maskLength(4096, 1, Math.cos(Math.PI / 24), 4096), 4060);
  assert.equal(maskLength(4096, 1, 0.5, 100), 99, "never more than previously masked minus one");
  assert.equal(maskLength(4096, 1, 0.0001, 100), 1, "at least one");
  assert.equal(maskLength(4096, 1, 0.5, 1), 1, "at least one, even when one is unknown");
  assert.equal(maskLength(100, 0.25, 0.5, 25), 12, "user mask: starting ratio scales the count");
});

Deno.test("mask_len never grows and stays within [1, unknown - 1] when unknown > 1", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 5000 }),
      fc.integer({ min: 1, max: 64 }),
      fc.constantFrom("cosine" as const, "linear" as const),
      (n, steps, schedule) => {
        let unknown = n;
        for (let i = 0; i < steps - 1 && unknown > 1; i++) {
          const next = maskLength(n, 1, maskRatio(schedule, i, steps), unknown);
          assert.ok(next >= 1 && next <= unknown - 1);
          unknown = next;
        }
      },
    ),
  );
});

Deno.test("timestep values follow the convention", () => {
  assert.equal(timestepValue("step-index", 0, 12, 1), 11);
  assert.equal(timestepValue("step-index", 11, 12, 0.01), 0);
  assert.equal(timestepValue("mask-ratio", 3, 12, 0.375), 0.375);
});
