import assert from "node:assert/strict";
import { imageToTensor, tensorToImage } from "../../src/image/mod.ts";
import { assertTypedError, randomImage, seededRandom } from "./helpers.ts";

Deno.test("imageToTensor lays out CHW planes with byte / 255", () => {
  const image = {
    width: 2,
    height: 1,
    data: new Uint8ClampedArray([255, 0, 51, 255, 0, 102, 255, 255]),
  };
  const tensor = imageToTensor(image);
  assert.deepEqual([...tensor], [1, 0, 0, 0.4, 0.2, 1].map(Math.fround));
});

Deno.test("tensorToImage inverts imageToTensor exactly for opaque images", () => {
  const image = randomImage({ width: 31, height: 17 }, seededRandom(6));
  const back = tensorToImage(imageToTensor(image), image);
  assert.deepEqual(back.data, image.data);
});

Deno.test("every byte value survives the round trip", () => {
  const data = new Uint8ClampedArray(256 * 4);
  for (let v = 0; v < 256; v++) data.set([v, 255 - v, v, 255], v * 4);
  const image = { width: 256, height: 1, data };
  assert.deepEqual(tensorToImage(imageToTensor(image), image).data, data);
});

Deno.test("transparent pixels are flattened over the background", () => {
  const image = { width: 1, height: 1, data: new Uint8ClampedArray([255, 0, 0, 0]) };
  assert.deepEqual([...imageToTensor(image)], [1, 1, 1]);
  assert.deepEqual([...imageToTensor(image, { background: [0, 0, 0] })], [0, 0, 0]);
  const half = { width: 1, height: 1, data: new Uint8ClampedArray([255, 0, 0, 51]) };
  const tensor = imageToTensor(half, { background: [0, 0, 0] });
  assert.ok(Math.abs(tensor[0] - 0.2) < 1e-6);
});

Deno.test("tensorToImage clamps out-of-range values and maps NaN to 0", () => {
  const tensor = new Float32Array([-0.5, 1.7, NaN, 0.5, 0.001, 0.999]);
  const image = tensorToImage(tensor, { width: 2, height: 1 });
  // R plane [-0.5, 1.7], G plane [NaN, 0.5], B plane [0.001, 0.999].
  assert.deepEqual([...image.data], [0, 0, 0, 255, 255, 128, 255, 255]);
});

Deno.test("tensorToImage refuses a tensor of the wrong length", () => {
  assert.throws(
    () => tensorToImage(new Float32Array(10), { width: 2, height: 2 }),
    (error) => assertTypedError(error, "invalid_input", "size_mismatch"),
  );
});
