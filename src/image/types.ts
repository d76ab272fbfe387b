/**
 * Plain data types shared by the image functions: 8-bit RGBA pixels, binary masks and sizes.
 *
 * @module
 */

/** A width and a height in pixels (or in tokens, for a grid). */
export interface Size {
  /** Number of columns. */
  width: number;
  /** Number of rows. */
  height: number;
}

/**
 * An 8-bit sRGB image with straight (not premultiplied) alpha, row-major, 4 bytes per pixel
 * (R, G, B, A). Structurally compatible with the DOM's `ImageData`.
 */
export interface RgbaImage extends Size {
  /** `width * height * 4` bytes. */
  data: Uint8ClampedArray;
}

/**
 * A row-major binary mask: one byte per cell, 1 = set, 0 = clear. The same type serves pixel
 * masks (one cell per pixel) and token masks (one cell per VQ token on the grid).
 */
export interface BinaryMask extends Size {
  /** `width * height` bytes, each 0 or 1. */
  data: Uint8Array;
}

/** A row-major single-channel float map (for example a localization map on the token grid). */
export interface FloatMap extends Size {
  /** `width * height` values. */
  data: Float32Array;
}

/** The image formats that can be decoded and encoded. */
export type ImageFormat = "png" | "jpeg" | "webp";

/**
 * Creates an image of the given size filled with one colour (opaque black by default).
 *
 * @example
 * ```ts
 * import { createImage } from "@editmgt/editmgt/image";
 * const red = createImage({ width: 2, height: 2 }, [255, 0, 0, 255]);
 * console.log(red.data.length); // 16
 * ```
 */
export function createImage(
  size: Size,
  rgba: readonly [number, number, number, number] = [0, 0, 0, 255],
): RgbaImage {
  const data = new Uint8ClampedArray(size.width * size.height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(rgba, i);
  return { width: size.width, height: size.height, data };
}
