import assert from "node:assert/strict";
import { createImage } from "../../src/image/types.ts";
import { compositeEdit, keepMask, seamWidth } from "../../src/pipeline/region.ts";

Deno.test("a token is kept when it equals the source and the user mask does not cover it", () => {
  const tokens = new Int32Array([1, 2, 3, 4]);
  const refTokens = new Int32Array([1, 2, 3, 9]);
  assert.deepEqual(keepMask(tokens, refTokens, null), Uint8Array.from([1, 1, 1, 0]));
  const userMask = Uint8Array.from([1, 0, 0, 0]);
  assert.deepEqual(keepMask(tokens, refTokens, userMask), Uint8Array.from([0, 1, 1, 0]));
});

Deno.test("the seam is one model pixel at the original scale, none at the model's resolution", () => {
  const model = { width: 64, height: 64 };
  assert.equal(seamWidth({ width: 64, height: 64 }, model), 0);
  assert.equal(seamWidth({ width: 50, height: 37 }, model), 0);
  assert.equal(seamWidth({ width: 1024, height: 768 }, model), 16);
  assert.equal(seamWidth({ width: 100, height: 64 }, model), 2);
});

Deno.test("at the model's resolution the composite has a hard seam: edited pixels are the edit's", () => {
  const original = createImage({ width: 8, height: 8 }, [200, 0, 0, 255]);
  const decoded = createImage({ width: 8, height: 8 }, [0, 0, 200, 255]);
  const keep = { width: 2, height: 2, data: Uint8Array.from([1, 0, 0, 0]) };
  const out = compositeEdit(original, decoded, keep);
  assert.deepEqual(Array.from(out.data.subarray(0, 4)), [200, 0, 0, 255]); // kept token
  assert.deepEqual(Array.from(out.data.subarray(4 * 4, 4 * 4 + 4)), [0, 0, 200, 255]); // next to it
});

Deno.test("at a larger size the edited side of the seam blends towards the original", () => {
  const original = createImage({ width: 32, height: 32 }, [200, 0, 0, 255]);
  const decoded = createImage({ width: 8, height: 8 }, [0, 0, 200, 255]);
  const keep = { width: 2, height: 2, data: Uint8Array.from([1, 0, 1, 0]) }; // left half kept
  const out = compositeEdit(original, decoded, keep);
  const pixel = (x: number) => Array.from(out.data.subarray(x * 4, x * 4 + 4));
  assert.deepEqual(pixel(15), [200, 0, 0, 255]);
  assert.ok(pixel(16)[0] > 0 && pixel(16)[2] < 200, `seam pixel ${pixel(16)}`);
  assert.deepEqual(pixel(31), [0, 0, 200, 255]);
});
