/**
 * Image pipeline costs at a typical photo size (1024x768) around a 64x64 model with a 16x16
 * token grid. Run: `deno bench -A bench/image.bench.ts`.
 */
import {
  compositePreserved,
  decodeImage,
  encodeImage,
  imageToTensor,
  renderHeatmap,
  resizeImage,
  type RgbaImage,
  type Size,
} from "../src/image/mod.ts";

const PHOTO: Size = { width: 1024, height: 768 };
const MODEL: Size = { width: 64, height: 64 };
const GRID: Size = { width: 16, height: 16 };

/** A smooth photo-like image (gradients plus a little texture), deterministic. */
function syntheticPhoto(size: Size): RgbaImage {
  const data = new Uint8ClampedArray(size.width * size.height * 4);
  for (let y = 0; y < size.height; y++) {
    for (let x = 0; x < size.width; x++) {
      const texture = ((x * 7919 + y * 104729) % 17) - 8;
      data.set([
        (x * 255) / size.width + texture,
        (y * 255) / size.height + texture,
        128 + 100 * Math.sin((x + y) / 40),
        255,
      ], (y * size.width + x) * 4);
    }
  }
  return { ...size, data };
}

const photo = syntheticPhoto(PHOTO);
const model = resizeImage(photo, MODEL);
const png = await encodeImage(photo);
const jpeg = await encodeImage(photo, { format: "jpeg", quality: 90 });
const keep = { ...GRID, data: Uint8Array.from({ length: 256 }, (_, i) => (i % 16 < 10 ? 1 : 0)) };
const localization = {
  ...GRID,
  data: Float32Array.from({ length: 256 }, (_, i) => (i % 16) / 15),
};

Deno.bench("decode PNG 1024x768", { group: "codec" }, async () => {
  await decodeImage(png);
});
Deno.bench("decode JPEG 1024x768", { group: "codec" }, async () => {
  await decodeImage(jpeg);
});
Deno.bench("encode PNG 1024x768", { group: "codec" }, async () => {
  await encodeImage(photo);
});
Deno.bench("encode JPEG 1024x768 q90", { group: "codec" }, async () => {
  await encodeImage(photo, { format: "jpeg", quality: 90 });
});
Deno.bench("resize 1024x768 -> 64x64 (area) + tensor", { group: "pixels" }, () => {
  imageToTensor(resizeImage(photo, MODEL));
});
Deno.bench("resize 64x64 -> 1024x768 (bicubic)", { group: "pixels" }, () => {
  resizeImage(model, PHOTO);
});
Deno.bench("composite at 1024x768 (upscale, distance, feather)", { group: "pixels" }, () => {
  compositePreserved(photo, model, keep);
});
Deno.bench("heatmap over 1024x768", { group: "pixels" }, () => {
  renderHeatmap(photo, localization);
});
