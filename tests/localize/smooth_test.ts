import assert from "node:assert/strict";
import fc from "fast-check";
import { percentile, smoothAdaptive } from "../../src/localize/mod.ts";

async function readJson(path: string | URL) {
  return JSON.parse(await Deno.readTextFile(path));
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

Deno.test("adaptive smoothing matches upstream's test vector (32x32, scipy) to 1e-5", async () => {
  // A copy of reference/smooth_adaptive_testvec.json: upstream's smooth_local_scores on a random map.
  const vector = await readJson(
    new URL("../fixtures/localize/smooth_adaptive_testvec.json", import.meta.url),
  );
  const ours = smoothAdaptive(vector.input, { height: 32, width: 32 });
  assert.ok(maxDifference(ours, vector.output) < 1e-5);
});

Deno.test("adaptive smoothing matches scipy on other grid sizes (grid-generic, reflect borders)", async () => {
  const golden = await readJson(new URL("../fixtures/localize/smooth_scipy.json", import.meta.url));
  for (const { grid, input, output } of golden.cases) {
    const difference = maxDifference(smoothAdaptive(input, grid), output);
    assert.ok(difference < 1e-5, `${grid.height}x${grid.width}: ${difference}`);
  }
});

Deno.test("smoothing keeps the input's range and leaves a flat map flat", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 12 }),
      fc.float({ min: 0, max: 1, noNaN: true }),
      (height, width, level) => {
        const flat = smoothAdaptive(new Float32Array(height * width).fill(level), {
          height,
          width,
        });
        for (const value of flat) assert.ok(Math.abs(value - Math.fround(level)) < 1e-6);
      },
    ),
  );
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 36, maxLength: 36 }),
      (values) => {
        const smoothed = smoothAdaptive(values, { height: 6, width: 6 });
        const low = Math.min(...values);
        const high = Math.max(...values);
        for (const value of smoothed) assert.ok(value >= low - 1e-6 && value <= high + 1e-6);
      },
    ),
  );
});

Deno.test("percentile interpolates linearly like numpy", () => {
  assert.equal(percentile([1, 2, 3, 4, 5], 90), 4.6);
  assert.equal(percentile([3, 1, 2], 50), 2);
  assert.equal(percentile([7], 90), 7);
});

Deno.test("a map of the wrong size is an invalid_input error", () => {
  assert.throws(() => smoothAdaptive(new Float32Array(10), { height: 3, width: 3 }), {
    code: "invalid_input",
  });
});
