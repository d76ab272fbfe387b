import assert from "node:assert/strict";
import {
  compositePreserved,
  createImage,
  decodeImage,
  distanceToMask,
  encodeImage,
  resizeImage,
  type Size,
  tokenMaskToPixelMask,
} from "../../src/image/mod.ts";
import { assertTypedError, randomImage, randomMask, seededRandom } from "./helpers.ts";

const SIZES: Size[] = [
  { width: 97, height: 61 },
  { width: 64, height: 64 },
  { width: 130, height: 47 },
  { width: 33, height: 100 },
  { width: 1, height: 1 },
];
const GRID = { width: 16, height: 16 };
const MODEL = { width: 64, height: 64 };

Deno.test("kept pixels equal the original exactly, at any size (alpha included)", () => {
  const random = seededRandom(11);
  for (const size of SIZES) {
    const original = randomImage(size, random, false);
    const edited = randomImage(MODEL, random);
    const keep = randomMask(GRID, random, 0.6);
    const output = compositePreserved(original, edited, keep);
    const kept = tokenMaskToPixelMask(keep, size);
    assert.deepEqual([output.width, output.height], [size.width, size.height]);
    let keptCount = 0;
    for (let p = 0; p < kept.data.length; p++) {
      if (!kept.data[p]) continue;
      keptCount++;
      assert.deepEqual(
        output.data.subarray(p * 4, p * 4 + 4),
        original.data.subarray(p * 4, p * 4 + 4),
        `${size.width}x${size.height} pixel ${p}`,
      );
    }
    if (size.width > 1) assert.ok(keptCount > 0);
  }
});

Deno.test("edited pixels beyond the feather come from the upscaled model output", () => {
  const random = seededRandom(12);
  const size = { width: 97, height: 61 };
  const original = randomImage(size, random, false);
  const edited = randomImage(MODEL, random);
  const keep = randomMask(GRID, random, 0.5);
  const featherPixels = 3;
  const output = compositePreserved(original, edited, keep, { featherPixels });
  const upscaled = resizeImage(edited, size);
  const distance = distanceToMask(tokenMaskToPixelMask(keep, size)).data;
  let checked = 0;
  for (let p = 0; p < distance.length; p++) {
    if (distance[p] < featherPixels + 1) continue;
    checked++;
    assert.deepEqual(
      output.data.subarray(p * 4, p * 4 + 3),
      upscaled.data.subarray(p * 4, p * 4 + 3),
    );
    assert.equal(output.data[p * 4 + 3], original.data[p * 4 + 3], "alpha from the original");
  }
  assert.ok(checked > 100);
});

Deno.test("the seam fades from the original into the edit on the edited side", () => {
  const size = { width: 40, height: 8 };
  const original = createImage(size, [200, 0, 0, 255]);
  const edited = createImage(MODEL, [0, 0, 200, 255]);
  const keep = { width: 2, height: 1, data: new Uint8Array([1, 0]) }; // keep the left half
  const output = compositePreserved(original, edited, keep, { featherPixels: 4 });
  const blueAt = (x: number) => output.data[(3 * size.width + x) * 4 + 2];
  assert.equal(blueAt(19), 0); // last kept pixel: exact original
  assert.equal(blueAt(20), 40); // distance 1: 1/5 of the edit
  assert.equal(blueAt(23), 160); // distance 4: 4/5
  assert.equal(blueAt(24), 200); // distance 5: all edit
  for (let x = 20; x < 39; x++) assert.ok(blueAt(x) <= blueAt(x + 1));
});

Deno.test("featherPixels 0 gives a hard seam", () => {
  const original = createImage({ width: 10, height: 2 }, [200, 0, 0, 255]);
  const edited = createImage(MODEL, [0, 0, 200, 255]);
  const keep = { width: 2, height: 1, data: new Uint8Array([1, 0]) };
  const output = compositePreserved(original, edited, keep, { featherPixels: 0 });
  assert.deepEqual([...output.data.subarray(16, 24)], [200, 0, 0, 255, 0, 0, 200, 255]);
});

Deno.test("keeping everything returns the original; keeping nothing returns the edit", () => {
  const random = seededRandom(13);
  const size = { width: 50, height: 30 };
  const original = randomImage(size, random);
  const edited = randomImage(MODEL, random);
  const all = { ...GRID, data: new Uint8Array(256).fill(1) };
  const none = { ...GRID, data: new Uint8Array(256) };
  assert.deepEqual(compositePreserved(original, edited, all).data, original.data);
  assert.deepEqual(compositePreserved(original, edited, none).data, resizeImage(edited, size).data);
});

Deno.test("the kept pixels are still exact after a PNG round trip", async () => {
  const random = seededRandom(14);
  const size = { width: 75, height: 41 };
  const original = await decodeImage(await encodeImage(randomImage(size, random)));
  const keep = randomMask(GRID, random, 0.7);
  const png = await encodeImage(compositePreserved(original, randomImage(MODEL, random), keep));
  const output = await decodeImage(png);
  const kept = tokenMaskToPixelMask(keep, size);
  for (let p = 0; p < kept.data.length; p++) {
    if (kept.data[p]) {
      assert.deepEqual(
        output.data.subarray(p * 4, p * 4 + 4),
        original.data.subarray(p * 4, p * 4 + 4),
      );
    }
  }
});

Deno.test("bad composite inputs are typed errors", () => {
  const original = createImage({ width: 8, height: 8 });
  const keep = { width: 2, height: 2, data: new Uint8Array(3) };
  assert.throws(
    () => compositePreserved(original, original, keep),
    (error) => assertTypedError(error, "invalid_input", "size_mismatch"),
  );
  const fine = { width: 2, height: 2, data: new Uint8Array(4) };
  for (const featherPixels of [-1, NaN, Infinity]) {
    assert.throws(
      () => compositePreserved(original, original, fine, { featherPixels }),
      (error) => assertTypedError(error, "invalid_option"),
    );
  }
});
