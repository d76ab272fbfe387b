/**
 * EXIF orientation: read the tag from a JPEG's APP1 segment and apply it to decoded pixels, so
 * that images from phones come out the way they are displayed.
 *
 * @module
 */
import type { RgbaImage } from "./types.ts";

/**
 * EXIF orientation (TIFF tag 0x0112): how the stored pixels must be transformed for display.
 * 1 = as stored, 2 = mirror horizontally, 3 = rotate 180°, 4 = mirror vertically,
 * 5 = transpose (mirror along the main diagonal), 6 = rotate 90° clockwise,
 * 7 = transverse (mirror along the anti-diagonal), 8 = rotate 90° counter-clockwise.
 */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const EXIF_SIGNATURE = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"
const ORIENTATION_TAG = 0x0112;
const TIFF_SHORT = 3;

/**
 * Reads the orientation from the payload of a JPEG APP1 segment (the bytes after its length
 * field). Returns 1 when the segment is not EXIF or the tag is absent, out of range or malformed:
 * a broken tag must never stop an image from loading.
 *
 * @example
 * ```ts
 * import { readExifOrientation } from "@editmgt/editmgt/image";
 * const app1 = new Uint8Array([
 *   0x45, 0x78, 0x69, 0x66, 0, 0, // "Exif\0\0"
 *   0x4d, 0x4d, 0, 42, 0, 0, 0, 8, // big-endian TIFF header, IFD0 at 8
 *   0, 1, // one entry
 *   0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // orientation = 6
 * ]);
 * console.log(readExifOrientation(app1)); // 6
 * ```
 */
export function readExifOrientation(app1: Uint8Array): Orientation {
  if (app1.length < 14 || EXIF_SIGNATURE.some((byte, i) => app1[i] !== byte)) return 1;
  const tiff = app1.subarray(6);
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = view.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return 1; // "II" or "MM"
  const little = order === 0x4949;
  if (view.getUint16(2, little) !== 42) return 1;
  const ifd0 = view.getUint32(4, little);
  if (ifd0 + 2 > tiff.length) return 1;
  const entries = view.getUint16(ifd0, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd0 + 2 + 12 * i;
    if (entry + 12 > tiff.length) return 1;
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue;
    if (view.getUint16(entry + 2, little) !== TIFF_SHORT) return 1;
    const value = view.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value as Orientation : 1;
  }
  return 1;
}

/**
 * Transforms stored pixels for display according to an EXIF orientation. Orientations 5-8 swap
 * width and height. Orientation 1 returns the input unchanged (same object).
 *
 * @example
 * ```ts
 * import { applyOrientation, createImage } from "@editmgt/editmgt/image";
 * const rotated = applyOrientation(createImage({ width: 3, height: 2 }), 6);
 * console.log(rotated.width, rotated.height); // 2 3
 * ```
 */
export function applyOrientation(image: RgbaImage, orientation: Orientation): RgbaImage {
  if (orientation === 1) return image;
  const { width, height } = image;
  const swaps = orientation >= 5;
  const outWidth = swaps ? height : width;
  const outHeight = swaps ? width : height;
  const source = pixelWords(image.data);
  const output = new Uint32Array(width * height);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const [sx, sy] = sourceOf(orientation, x, y, width, height);
      output[y * outWidth + x] = source[sy * width + sx];
    }
  }
  return { width: outWidth, height: outHeight, data: new Uint8ClampedArray(output.buffer) };
}

/** The stored pixel shown at display position (x, y). */
function sourceOf(
  orientation: Orientation,
  x: number,
  y: number,
  width: number,
  height: number,
): [number, number] {
  switch (orientation) {
    case 1:
      return [x, y];
    case 2:
      return [width - 1 - x, y];
    case 3:
      return [width - 1 - x, height - 1 - y];
    case 4:
      return [x, height - 1 - y];
    case 5:
      return [y, x];
    case 6:
      return [y, height - 1 - x];
    case 7:
      return [width - 1 - y, height - 1 - x];
    case 8:
      return [width - 1 - y, x];
  }
}

/** The pixels as one 32-bit word each (a view when aligned, else a copy). */
function pixelWords(data: Uint8ClampedArray): Uint32Array {
  const aligned = data.byteOffset % 4 === 0 ? data : new Uint8ClampedArray(data);
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
}
