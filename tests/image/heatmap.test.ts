import assert from "node:assert/strict";
import { createImage, renderHeatmap, viridis } from "../../src/image/mod.ts";
import { assertTypedError, randomImage, seededRandom } from "./helpers.ts";

Deno.test("viridis runs from dark purple through teal to yellow", () => {
  assert.deepEqual(viridis(0), [68, 1, 84]);
  assert.deepEqual(viridis(0.5), [33, 145, 140]);
  assert.deepEqual(viridis(1), [253, 231, 37]);
  assert.deepEqual(viridis(NaN), viridis(0));
  assert.deepEqual(viridis(-3), viridis(0));
  assert.deepEqual(viridis(7), viridis(1));
});

Deno.test("viridis gets lighter monotonically (so it reads in greyscale)", () => {
  const luma = (value: number) => {
    const [r, g, b] = viridis(value);
    return 0.299 * r + 0.587 * g + 0.114 * b;
  };
  for (let i = 0; i < 255; i++) {
    assert.ok(luma((i + 1) / 255) >= luma(i / 255), `step ${i}`); // bytes may tie
    if (i + 8 <= 255) assert.ok(luma((i + 8) / 255) > luma(i / 255), `steps ${i}..${i + 8}`);
  }
});

Deno.test("opacity 0 leaves the image as it is; opacity 1 shows only the map", () => {
  const image = randomImage({ width: 21, height: 13 }, seededRandom(15));
  const map = { width: 1, height: 1, data: new Float32Array([1]) };
  assert.deepEqual(renderHeatmap(image, map, { opacity: 0 }).data, image.data);
  const solid = renderHeatmap(image, map, { opacity: 1 });
  assert.deepEqual(solid.data, createImage(image, [253, 231, 37, 255]).data);
});

Deno.test("the map is upsampled over the image: hot left half, cold right half", () => {
  const image = createImage({ width: 40, height: 20 }, [128, 128, 128, 255]);
  const map = { width: 2, height: 1, data: new Float32Array([1, 0]) };
  const overlay = renderHeatmap(image, map, { opacity: 0.5 });
  const pixel = (x: number) => [...overlay.data.subarray((10 * 40 + x) * 4, (10 * 40 + x) * 4 + 4)];
  assert.deepEqual(pixel(0), [191, 180, 83, 255]); // (128 + yellow) / 2
  assert.deepEqual(pixel(39), [98, 65, 106, 255]); // (128 + purple) / 2
});

Deno.test("over a transparent image the colour layer keeps its own opacity", () => {
  const image = createImage({ width: 4, height: 4 }, [0, 0, 0, 0]);
  const map = { width: 1, height: 1, data: new Float32Array([0]) };
  const overlay = renderHeatmap(image, map, { opacity: 0.6 });
  assert.deepEqual([...overlay.data.subarray(0, 4)], [68, 1, 84, 153]);
});

Deno.test("an opacity outside [0, 1] or a map of the wrong length is a typed error", () => {
  const image = createImage({ width: 4, height: 4 });
  const map = { width: 2, height: 2, data: new Float32Array(4) };
  for (const opacity of [-0.1, 1.5, NaN]) {
    assert.throws(
      () => renderHeatmap(image, map, { opacity }),
      (error) => assertTypedError(error, "invalid_option"),
    );
  }
  assert.throws(
    () => renderHeatmap(image, { ...map, data: new Float32Array(5) }),
    (error) => assertTypedError(error, "invalid_input", "size_mismatch"),
  );
});
