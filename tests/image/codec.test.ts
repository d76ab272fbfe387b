import assert from "node:assert/strict";
import { createImage, decodeImage, encodeImage, type RgbaImage } from "../../src/image/mod.ts";
import {
  assertTypedError,
  fixture,
  maxDifference,
  meanDifference,
  patternRgb,
  randomImage,
  seededRandom,
} from "./helpers.ts";

/** The pattern fixture's pixels (opaque). */
function patternImage(): RgbaImage {
  const data = new Uint8ClampedArray(7 * 5 * 4);
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 7; x++) data.set([...patternRgb(x, y), 255], (y * 7 + x) * 4);
  }
  return { width: 7, height: 5, data };
}

Deno.test("PNG and lossless WebP decode to exactly the stored pixels", async () => {
  const expected = patternImage();
  for (const name of ["pattern-7x5.png", "pattern-lossless-7x5.webp"]) {
    const image = await decodeImage(fixture(name));
    assert.deepEqual([image.width, image.height], [7, 5]);
    assert.deepEqual(image.data, expected.data, name);
  }
});

Deno.test("PNG and WebP alpha is decoded unpremultiplied", async () => {
  for (const name of ["pattern-rgba-7x5.png", "pattern-rgba-lossless-7x5.webp"]) {
    const image = await decodeImage(fixture(name));
    for (let p = 0; p < 35; p++) {
      const [x, y] = [p % 7, Math.floor(p / 7)];
      assert.equal(image.data[p * 4 + 3], p * 7, `${name} alpha at ${p}`);
      if (p > 0) assert.deepEqual([...image.data.slice(p * 4, p * 4 + 3)], patternRgb(x, y));
    }
  }
});

Deno.test("grey and 16-bit grey PNGs decode to RGBA (16-bit keeps the high byte)", async () => {
  const grey = await decodeImage(fixture("pattern-gray16-7x5.png"));
  for (let p = 0; p < 35; p++) {
    const expected = (p % 7) * 36;
    assert.deepEqual([...grey.data.slice(p * 4, p * 4 + 4)], [expected, expected, expected, 255]);
  }
  const grey8 = await decodeImage(fixture("pattern-gray-7x5.png"));
  assert.equal(grey8.data[0], grey8.data[1]);
  assert.equal(grey8.data[3], 255);
});

Deno.test("JPEG (baseline and progressive) and lossy WebP decode close to the stored pixels", async () => {
  const expected = patternImage();
  for (const name of ["pattern-7x5.jpg", "pattern-progressive-7x5.jpg", "pattern-lossy-7x5.webp"]) {
    const image = await decodeImage(fixture(name));
    assert.equal(image.format, name.endsWith(".jpg") ? "jpeg" : "webp");
    assert.ok(maxDifference(image.data, expected.data) <= 40, name);
  }
});

Deno.test("EXIF orientations 1-8 all decode to the same upright 32x16 image", async () => {
  const upright = await decodeImage(fixture("upright-32x16.png"));
  for (let orientation = 1; orientation <= 8; orientation++) {
    const image = await decodeImage(fixture(`orientation-${orientation}.jpg`));
    assert.deepEqual([image.width, image.height], [32, 16], `orientation ${orientation}`);
    // Quadrant centres (away from the chroma edges) match the upright image.
    for (const [x, y] of [[4, 2], [27, 3], [5, 12], [26, 13]]) {
      const at = (y * 32 + x) * 4;
      const difference = maxDifference(
        image.data.slice(at, at + 3),
        upright.data.slice(at, at + 3),
      );
      assert.ok(difference <= 8, `orientation ${orientation} at ${x},${y}: ${difference}`);
    }
  }
});

Deno.test("applyExifOrientation: false keeps the stored layout", async () => {
  const image = await decodeImage(fixture("orientation-6.jpg"), { applyExifOrientation: false });
  assert.deepEqual([image.width, image.height], [16, 32]);
});

Deno.test("PNG encoding is lossless and deterministic, alpha included", async () => {
  const image = randomImage({ width: 37, height: 23 }, seededRandom(1), false);
  const first = await encodeImage(image);
  const second = await encodeImage({ ...image, data: new Uint8ClampedArray(image.data) });
  assert.deepEqual(first, second);
  const decoded = await decodeImage(first);
  assert.equal(decoded.format, "png");
  assert.deepEqual(decoded.data, image.data);
});

Deno.test("JPEG and WebP encode with a quality option that trades size for error", async () => {
  const noise = randomImage({ width: 48, height: 48 }, seededRandom(2));
  const upright = await decodeImage(fixture("upright-32x16.png"));
  for (const format of ["jpeg", "webp"] as const) {
    const low = await encodeImage(noise, { format, quality: 10 });
    const high = await encodeImage(noise, { format, quality: 95 });
    assert.ok(low.length < high.length, `${format}: ${low.length} < ${high.length}`);
    const decoded = await decodeImage(await encodeImage(upright, { format, quality: 95 }));
    assert.equal(decoded.format, format);
    assert.deepEqual([decoded.width, decoded.height], [32, 16]);
    // Lossy codecs subsample chroma, so saturated edges differ; the mean error stays small.
    const error = meanDifference(decoded.data, upright.data);
    assert.ok(error <= 6, `${format}: mean error ${error}`);
  }
});

Deno.test("encodeImage refuses a pixel buffer of the wrong length", async () => {
  const broken = { width: 4, height: 4, data: new Uint8ClampedArray(10) };
  await assert.rejects(encodeImage(broken), (error) => {
    assert.equal((error as { code?: string }).code, "invalid_input");
    return true;
  });
});

Deno.test("decodeImage reads from a view into a larger buffer", async () => {
  const png = fixture("pattern-7x5.png");
  const padded = new Uint8Array(png.length + 20);
  padded.set(png, 10);
  const image = await decodeImage(padded.subarray(10, 10 + png.length));
  assert.deepEqual(image.data, patternImage().data);
});

Deno.test("the codecs work inside a Deno Worker (where the engine runs the pipeline)", async () => {
  const worker = new Worker(new URL("./codec_worker.ts", import.meta.url), { type: "module" });
  try {
    const reply = new Promise<
      { width?: number; height?: number; png?: Uint8Array; error?: string }
    >(
      (resolve) => worker.onmessage = (event) => resolve(event.data),
    );
    worker.postMessage(fixture("orientation-6.jpg"));
    const { width, height, png, error } = await reply;
    assert.equal(error, undefined);
    assert.deepEqual([width, height], [32, 16]);
    const decoded = await decodeImage(png!);
    assert.deepEqual([decoded.width, decoded.height], [32, 16]);
  } finally {
    worker.terminate();
  }
});

Deno.test("encodeImage encodes only the view's pixels when they sit inside a larger buffer", async () => {
  const image = randomImage({ width: 9, height: 4 }, seededRandom(16));
  const backing = new Uint8ClampedArray(image.data.length + 64).fill(77);
  backing.set(image.data, 32);
  const view = { ...image, data: backing.subarray(32, 32 + image.data.length) };
  for (const format of ["png", "jpeg", "webp"] as const) {
    const decoded = await decodeImage(await encodeImage(view, { format, quality: 100 }));
    assert.deepEqual([decoded.width, decoded.height], [9, 4], format);
    if (format === "png") assert.deepEqual(decoded.data, image.data);
  }
});

Deno.test("quality and maxPixels out of range are invalid_option errors", async () => {
  const image = createImage({ width: 2, height: 2 });
  await assert.rejects(
    encodeImage(image, { format: "jpeg", quality: 101 }),
    (error) => assertTypedError(error, "invalid_option"),
  );
  await assert.rejects(
    decodeImage(fixture("pattern-7x5.png"), { maxPixels: 0 }),
    (error) => assertTypedError(error, "invalid_option"),
  );
});
