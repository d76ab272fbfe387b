import assert from "node:assert/strict";
import {
  createImage,
  resampleMap,
  resizeImage,
  resizeMap,
  type RgbaImage,
} from "../../src/image/mod.ts";
import { randomImage, seededRandom } from "./helpers.ts";

Deno.test("resizing to the same size returns the same pixels", () => {
  const image = randomImage({ width: 13, height: 7 }, seededRandom(3));
  assert.deepEqual(resizeImage(image, { width: 13, height: 7 }).data, image.data);
});

Deno.test("a flat colour stays exactly flat through any resize", () => {
  const flat = createImage({ width: 37, height: 23 }, [12, 200, 77, 255]);
  for (
    const size of [{ width: 5, height: 3 }, { width: 64, height: 64 }, { width: 100, height: 9 }]
  ) {
    const resized = resizeImage(flat, size);
    assert.deepEqual(resized.data, createImage(size, [12, 200, 77, 255]).data);
  }
});

Deno.test("downscaling by an integer factor is the exact block mean", () => {
  const random = seededRandom(4);
  const image = randomImage({ width: 8, height: 6 }, random);
  const small = resizeImage(image, { width: 4, height: 3 });
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 4; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          sum += image.data[((2 * y + dy) * 8 + 2 * x + dx) * 4 + c];
        }
        assert.equal(small.data[(y * 4 + x) * 4 + c], Math.round(sum / 4));
      }
    }
  }
});

Deno.test("area downscaling at a fractional factor weighs partial pixels by overlap", () => {
  // 3 pixels to 2: output 0 covers [0, 1.5) = 1 * p0 + 0.5 * p1, over 1.5.
  const map = { width: 3, height: 1, data: new Float32Array([0, 3, 6]) };
  const resized = resampleMap(map, { width: 2, height: 1 }, "area", "area");
  assert.deepEqual([...resized.data], [1, 5]);
});

Deno.test("bilinear upscaling samples at pixel centres and replicates edges", () => {
  const map = { width: 2, height: 1, data: new Float32Array([0, 1]) };
  assert.deepEqual([...resizeMap(map, { width: 4, height: 1 }).data], [0, 0.25, 0.75, 1]);
});

Deno.test("bicubic upscaling reproduces a linear ramp away from the edges", () => {
  const ramp: RgbaImage = createImage({ width: 16, height: 1 });
  for (let x = 0; x < 16; x++) ramp.data.set([x * 10, x * 10, x * 10, 255], x * 4);
  const up = resizeImage(ramp, { width: 64, height: 1 });
  for (let x = 8; x < 56; x++) {
    const position = (x + 0.5) / 4 - 0.5;
    assert.ok(Math.abs(up.data[x * 4] - position * 10) <= 0.5, `x=${x}: ${up.data[x * 4]}`);
  }
});

Deno.test("transparent pixels do not bleed their colour (premultiplied resampling)", () => {
  const image = createImage({ width: 2, height: 1 }, [0, 0, 255, 255]);
  image.data.set([255, 0, 0, 0], 0); // invisible red next to opaque blue
  const merged = resizeImage(image, { width: 1, height: 1 });
  assert.deepEqual([...merged.data], [0, 0, 255, 128]);
});

Deno.test("mixed directions: one axis shrinks by area while the other grows", () => {
  const random = seededRandom(5);
  const image = randomImage({ width: 40, height: 10 }, random);
  const resized = resizeImage(image, { width: 10, height: 30 });
  assert.deepEqual([resized.width, resized.height, resized.data.length], [10, 30, 1200]);
  // Each output column is the mean of 4 input columns; rows repeat the input rows smoothly,
  // so the overall mean is preserved within rounding.
  const mean = (data: Uint8ClampedArray) => data.reduce((s, v, i) => i % 4 ? s : s + v, 0);
  const inputMean = mean(image.data) / 400;
  const outputMean = mean(resized.data) / 300;
  assert.ok(Math.abs(inputMean - outputMean) < 3, `${inputMean} vs ${outputMean}`);
});
