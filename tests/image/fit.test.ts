import assert from "node:assert/strict";
import {
  compositePreserved,
  cropImage,
  fitImage,
  fitMask,
  frameFor,
  frameRegion,
  frameTokens,
  resizeImage,
  tokenMaskToPixelMask,
} from "../../src/image/mod.ts";
import { randomImage, randomMask, seededRandom } from "./helpers.ts";

const MODEL = { width: 1024, height: 1024 };
const GRID = { width: 64, height: 64 };

Deno.test("squash fills the frame; pad keeps the aspect ratio, centred on a token boundary", () => {
  const squash = frameFor({ width: 3000, height: 2000 }, MODEL, GRID, "squash");
  assert.deepEqual(squash.content, { x: 0, y: 0, width: 1024, height: 1024 });
  assert.deepEqual(frameFor({ width: 3000, height: 2000 }, MODEL, GRID, "pad").content, {
    x: 0,
    y: 160,
    width: 1024,
    height: 683,
  });
  assert.deepEqual(frameFor({ width: 768, height: 1024 }, MODEL, GRID, "pad").content, {
    x: 128,
    y: 0,
    width: 768,
    height: 1024,
  });
  assert.deepEqual(frameFor({ width: 20, height: 10 }, MODEL, GRID, "pad").content, {
    x: 0,
    y: 256,
    width: 1024,
    height: 512,
  });
});

Deno.test("a padded image is the resized image inside its replicated edges", () => {
  const random = seededRandom(3);
  const image = randomImage({ width: 90, height: 50 }, random);
  const model = { width: 64, height: 64 };
  const frame = frameFor(image, model, { width: 16, height: 16 }, "pad");
  const { content } = frame;
  assert.deepEqual(content, { x: 0, y: 12, width: 64, height: 36 });
  const fitted = fitImage(image, frame);
  assert.deepEqual(cropImage(fitted, content).data, resizeImage(image, content).data);
  const row = (y: number) => fitted.data.slice(y * 256, (y + 1) * 256);
  for (let y = 0; y < content.y; y++) assert.deepEqual(row(y), row(content.y));
  for (let y = content.y + content.height; y < 64; y++) {
    assert.deepEqual(row(y), row(content.y + content.height - 1));
  }
});

Deno.test("a mask moves into the content, never the padding; tokens of padding are not shown", () => {
  const mask = { width: 4, height: 2, data: new Uint8Array([1, 0, 0, 0, 0, 0, 0, 1]) };
  const frame = frameFor(mask, { width: 4, height: 4 }, { width: 4, height: 4 }, "pad");
  assert.deepEqual(
    Array.from(fitMask(mask, frame).data),
    [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
  );
  const wide = frameFor({ width: 300, height: 100 }, MODEL, GRID, "pad");
  const shown = frameTokens(wide, GRID);
  const rows = Array.from({ length: 64 }, (_, r) => shown.data[r * 64]);
  // 300x100 at 1024: 1024x341 content from y = 336 (21 cells) to 677, inside cell 42.
  assert.deepEqual(wide.content, { x: 0, y: 336, width: 1024, height: 341 });
  assert.equal(rows.indexOf(1), 21);
  assert.equal(rows.lastIndexOf(1), 42);
});

Deno.test("with a region, kept pixels of a padded image equal the original exactly", () => {
  const random = seededRandom(5);
  for (const size of [{ width: 97, height: 61 }, { width: 33, height: 100 }]) {
    const original = randomImage(size, random, false);
    const grid = { width: 16, height: 16 };
    const frame = frameFor(size, { width: 64, height: 64 }, grid, "pad");
    const region = frameRegion(frame, grid);
    const keep = randomMask(grid, random, 0.6);
    const edited = randomImage(frame.content, random);
    const output = compositePreserved(original, edited, keep, { region });
    const kept = tokenMaskToPixelMask(keep, size, region);
    for (let p = 0; p < kept.data.length; p++) {
      if (!kept.data[p]) continue;
      assert.deepEqual(
        output.data.subarray(p * 4, p * 4 + 4),
        original.data.subarray(p * 4, p * 4 + 4),
      );
    }
    // The pixel under a token's centre takes that token: the region maps pixels, not the grid.
    const x = size.width - 1;
    const column = Math.floor(region.x + (x + 0.5) * region.width / size.width);
    assert.equal(
      kept.data[x],
      keep.data[Math.floor(region.y + 0.5 * region.height / size.height) * 16 + column],
    );
  }
});
