import assert from "node:assert/strict";
import fc from "fast-check";
import { autoLambda, smoothAdaptive } from "../../src/localize/mod.ts";

const GRID = { height: 32, width: 32 };

/** A min-max rescaled, smoothed 32x32 map: the form autoLambda reads. */
function smoothed(value: (row: number, col: number) => number): Float32Array {
  const raw = new Float32Array(1024).map((_, i) => value(Math.floor(i / 32), i % 32));
  const low = Math.min(...raw);
  const high = Math.max(...raw);
  return smoothAdaptive(raw.map((v) => (v - low) / (high - low + 1e-8)), GRID);
}

/** Deterministic noise in [0, 1). */
function noise(row: number, col: number): number {
  const x = Math.sin(row * 12.9898 + col * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

Deno.test("a clear object gives a threshold that holds the background and frees the object", () => {
  const map = smoothed((r, c) => ((r - 12) ** 2 + (c - 10) ** 2 < 25 ? 1 : 0) + 0.2 * noise(r, c));
  const lambda = autoLambda(map);
  assert.ok(lambda > 0 && lambda < 1);
  const free = map.filter((value) => value >= lambda).length;
  assert.ok(free > 40 && free < 200, `${free} cells free to change`);
  assert.ok(map[12 * 32 + 10] >= lambda, "the object's centre is not held");
  assert.ok(map[30 * 32 + 30] < lambda, "a far corner is held");
});

Deno.test("a Gaussian blob of attention counts as a clear object", () => {
  const map = smoothed((r, c) =>
    Math.exp(-((r - 16) ** 2 + (c - 16) ** 2) / 18) + 0.1 * noise(r, c)
  );
  assert.ok(autoLambda(map) > 0);
});

Deno.test("no clear foreground means no hold: flat, noise, diffuse and global maps", () => {
  assert.equal(autoLambda(new Float32Array(1024).fill(0.4)), 0, "flat");
  assert.equal(autoLambda(smoothed(noise)), 0, "noise");
  assert.equal(
    autoLambda(smoothed((r, c) => Math.sin(c / 5) + Math.cos(r / 7) + 0.2 * noise(r, c))),
    0,
    "diffuse",
  );
  assert.equal(
    autoLambda(smoothed((r, c) => ((r - 16) ** 2 + (c - 16) ** 2 < 200 ? 1 : 0))),
    0,
    "foreground covers most of the map",
  );
});

Deno.test("autoLambda always lies in [0, 1]", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 200 }),
      (values) => {
        const lambda = autoLambda(values);
        assert.ok(lambda >= 0 && lambda <= 1);
      },
    ),
  );
});

Deno.test("the separability and foreground limits are options", () => {
  const map = smoothed((r, c) => ((r - 12) ** 2 + (c - 10) ** 2 < 25 ? 1 : 0) + 0.2 * noise(r, c));
  assert.equal(autoLambda(map, { minSeparability: 0.999 }), 0);
  assert.equal(autoLambda(map, { maxForeground: 0.01 }), 0);
});
