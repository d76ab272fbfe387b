import assert from "node:assert/strict";
import {
  createImage,
  maskFromImage,
  pixelMaskToTokenMask,
  tokenMaskToPixelMask,
  userMaskToTokenMask,
} from "../../src/image/mod.ts";
import { assertTypedError, randomMask, seededRandom } from "./helpers.ts";

Deno.test("maskFromImage marks bright opaque pixels only", () => {
  const data = new Uint8ClampedArray([
    ...[255, 255, 255, 255], // white: set
    ...[0, 0, 0, 255], // black: clear
    ...[255, 255, 255, 0], // transparent white: clear
    ...[255, 0, 0, 255], // red (luma 76): clear
    ...[200, 200, 200, 200], // light grey, mostly opaque: 200 * 200 / 255 = 157, set
    ...[0, 255, 0, 255], // green (luma 150): set
  ]);
  assert.deepEqual([...maskFromImage({ width: 6, height: 1, data }).data], [1, 0, 0, 0, 1, 1]);
});

Deno.test("a token is set when any of its cell is set (default) or most of it (0.5)", () => {
  // 4x4 pixels on a 2x2 grid; the top-left token has 1 of 4 pixels set, top-right 3 of 4.
  const rows = ["1011", "0001", "0000", "0000"];
  const pixels = { width: 4, height: 4, data: Uint8Array.from(rows.join(""), Number) };
  const grid = { width: 2, height: 2 };
  assert.deepEqual([...pixelMaskToTokenMask(pixels, grid).data], [1, 1, 0, 0]);
  const majority = pixelMaskToTokenMask(pixels, grid, { minCoverage: 0.5 });
  assert.deepEqual([...majority.data], [0, 1, 0, 0]);
});

Deno.test("at sizes that are not multiples of the grid, no set pixel falls outside a set token", () => {
  const random = seededRandom(8);
  for (
    const [size, grid] of [[{ width: 97, height: 61 }, { width: 16, height: 16 }], [
      { width: 30, height: 50 },
      { width: 7, height: 9 },
    ], [{ width: 5, height: 3 }, { width: 8, height: 8 }]] as const
  ) {
    const pixels = randomMask(size, random, 0.02);
    const back = tokenMaskToPixelMask(pixelMaskToTokenMask(pixels, grid), size);
    for (let p = 0; p < pixels.data.length; p++) {
      if (pixels.data[p]) {
        assert.equal(back.data[p], 1, `pixel ${p} at ${size.width}x${size.height}`);
      }
    }
  }
});

Deno.test("tokenMaskToPixelMask takes the token under each pixel centre", () => {
  const tokens = { width: 3, height: 1, data: new Uint8Array([1, 0, 1]) };
  // 7 pixels over 3 tokens: pixel x lies in cell floor((x + 0.5) * 3 / 7) = 0 0 1 1 1 2 2.
  assert.deepEqual([...tokenMaskToPixelMask(tokens, { width: 7, height: 2 }).data], [
    ...[1, 1, 0, 0, 0, 1, 1],
    ...[1, 1, 0, 0, 0, 1, 1],
  ]);
});

Deno.test("token mask to pixels and back gives the same token mask", () => {
  const random = seededRandom(9);
  const tokens = randomMask({ width: 16, height: 16 }, random);
  for (const size of [{ width: 64, height: 64 }, { width: 103, height: 77 }]) {
    const pixels = tokenMaskToPixelMask(tokens, size);
    const back = pixelMaskToTokenMask(pixels, tokens, { minCoverage: 0.5 });
    assert.deepEqual(back.data, tokens.data, `${size.width}x${size.height}`);
  }
});

Deno.test("userMaskToTokenMask reads a mask image of the image's size onto the grid", () => {
  const maskImage = createImage({ width: 30, height: 20 }, [0, 0, 0, 255]);
  maskImage.data.set([255, 255, 255, 255], (19 * 30 + 29) * 4); // bottom-right pixel
  const tokens = userMaskToTokenMask(maskImage, { width: 30, height: 20 }, { width: 3, height: 2 });
  assert.deepEqual([...tokens.data], [0, 0, 0, 0, 0, 1]);
});

Deno.test("a mask image of another size than the image is a typed size_mismatch error", () => {
  const maskImage = createImage({ width: 20, height: 30 });
  assert.throws(
    () => userMaskToTokenMask(maskImage, { width: 30, height: 20 }, { width: 4, height: 4 }),
    (error) => assertTypedError(error, "invalid_input", "size_mismatch"),
  );
});
