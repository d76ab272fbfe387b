import assert from "node:assert/strict";
import { applyOrientation, type Orientation, readExifOrientation } from "../../src/image/mod.ts";
import type { RgbaImage } from "../../src/image/mod.ts";

/** An APP1 payload with one IFD0 entry (tag, type, value) in the given byte order. */
function exifPayload(little: boolean, tag: number, type: number, value: number): Uint8Array {
  const bytes = new Uint8Array(6 + 8 + 2 + 12 + 4);
  bytes.set([0x45, 0x78, 0x69, 0x66, 0, 0]);
  const view = new DataView(bytes.buffer, 6);
  view.setUint16(0, little ? 0x4949 : 0x4d4d);
  view.setUint16(2, 42, little);
  view.setUint32(4, 8, little);
  view.setUint16(8, 1, little);
  view.setUint16(10, tag, little);
  view.setUint16(12, type, little);
  view.setUint32(14, 1, little);
  view.setUint16(18, value, little);
  return bytes;
}

/** A 3x2 image whose pixel (x, y) holds the label 10 * y + x in its red byte. */
function labelled(): RgbaImage {
  const data = new Uint8ClampedArray(3 * 2 * 4);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) data[(y * 3 + x) * 4] = 10 * y + x;
  return { width: 3, height: 2, data };
}

function labels(image: RgbaImage): number[][] {
  const rows: number[][] = [];
  for (let y = 0; y < image.height; y++) {
    rows.push([]);
    for (let x = 0; x < image.width; x++) rows[y].push(image.data[(y * image.width + x) * 4]);
  }
  return rows;
}

Deno.test("readExifOrientation reads the tag in both byte orders", () => {
  for (const little of [true, false]) {
    for (let value = 1; value <= 8; value++) {
      assert.equal(readExifOrientation(exifPayload(little, 0x0112, 3, value)), value);
    }
  }
});

Deno.test("readExifOrientation falls back to 1 for malformed or missing tags", () => {
  assert.equal(readExifOrientation(exifPayload(true, 0x0112, 3, 9)), 1); // out of range
  assert.equal(readExifOrientation(exifPayload(true, 0x0112, 4, 6)), 1); // wrong type
  assert.equal(readExifOrientation(exifPayload(true, 0x0110, 3, 6)), 1); // other tag
  const truncated = exifPayload(false, 0x0112, 3, 6).subarray(0, 20);
  assert.equal(readExifOrientation(truncated), 1);
  const badOffset = exifPayload(false, 0x0112, 3, 6);
  new DataView(badOffset.buffer).setUint32(10, 0xfffffff0);
  assert.equal(readExifOrientation(badOffset), 1);
  assert.equal(readExifOrientation(new TextEncoder().encode("http://ns.adobe.com/xap/1.0/")), 1);
});

Deno.test("applyOrientation maps each orientation as a viewer displays it", () => {
  // Stored:   0  1  2
  //          10 11 12
  const expected: Record<Orientation, number[][]> = {
    1: [[0, 1, 2], [10, 11, 12]],
    2: [[2, 1, 0], [12, 11, 10]],
    3: [[12, 11, 10], [2, 1, 0]],
    4: [[10, 11, 12], [0, 1, 2]],
    5: [[0, 10], [1, 11], [2, 12]],
    6: [[10, 0], [11, 1], [12, 2]],
    7: [[12, 2], [11, 1], [10, 0]],
    8: [[2, 12], [1, 11], [0, 10]],
  };
  for (const [orientation, rows] of Object.entries(expected)) {
    const shown = applyOrientation(labelled(), Number(orientation) as Orientation);
    assert.deepEqual(labels(shown), rows, `orientation ${orientation}`);
  }
});

Deno.test("applyOrientation works on pixel data at an unaligned offset", () => {
  const image = labelled();
  const backing = new Uint8ClampedArray(image.data.length + 1);
  backing.set(image.data, 1);
  const shifted = { ...image, data: backing.subarray(1) };
  assert.deepEqual(labels(applyOrientation(shifted, 3)), [[12, 11, 10], [2, 1, 0]]);
});
