import assert from "node:assert/strict";
import { type BinaryMask, distanceToMask } from "../../src/image/mod.ts";
import { randomMask, seededRandom } from "./helpers.ts";

function bruteForce(mask: BinaryMask): number[] {
  const out: number[] = [];
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      let best = Infinity;
      for (let v = 0; v < mask.height; v++) {
        for (let u = 0; u < mask.width; u++) {
          if (mask.data[v * mask.width + u]) best = Math.min(best, Math.hypot(u - x, v - y));
        }
      }
      out.push(best);
    }
  }
  return out;
}

Deno.test("distanceToMask equals the brute-force Euclidean distance", () => {
  const random = seededRandom(10);
  for (
    const [width, height, density] of [[17, 11, 0.05], [9, 23, 0.3], [1, 12, 0.2], [20, 20, 0.01]]
  ) {
    const mask = randomMask({ width, height }, random, density);
    const fast = distanceToMask(mask).data;
    const slow = bruteForce(mask);
    for (let i = 0; i < slow.length; i++) {
      assert.ok(
        slow[i] === Infinity ? fast[i] === Infinity : Math.abs(fast[i] - slow[i]) < 1e-5,
        `${width}x${height} at ${i}: ${fast[i]} vs ${slow[i]}`,
      );
    }
  }
});

Deno.test("an empty mask is infinitely far everywhere", () => {
  const mask = { width: 4, height: 3, data: new Uint8Array(12) };
  assert.ok(distanceToMask(mask).data.every((d) => d === Infinity));
});
