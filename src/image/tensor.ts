/**
 * Conversion between RGBA bytes and the float tensors the VQ encoder and decoder speak:
 * `float32 [1, 3, H, W]`, RGB in [0, 1], channel-planar (CHW), not normalized.
 *
 * @module
 */
import { lengthMismatch } from "./errors.ts";
import type { RgbaImage, Size } from "./types.ts";

/** Options for {@linkcode imageToTensor}. */
export interface ImageToTensorOptions {
  /** Colour that transparent pixels are composited over. Default white `[255, 255, 255]`. */
  background?: readonly [number, number, number];
}

/**
 * RGBA bytes to CHW float RGB in [0, 1] (`width * height * 3` values, plane R, then G, then B).
 * Alpha is flattened over `background`; opaque pixels give exactly `byte / 255`.
 *
 * @example
 * ```ts
 * import { createImage, imageToTensor } from "@editmgt/editmgt/image";
 * const tensor = imageToTensor(createImage({ width: 2, height: 1 }, [255, 0, 51, 255]));
 * console.log(tensor); // [1, 1, 0, 0, 0.2, 0.2]
 * ```
 */
export function imageToTensor(image: RgbaImage, options: ImageToTensorOptions = {}): Float32Array {
  const background = options.background ?? [255, 255, 255];
  const plane = image.width * image.height;
  const tensor = new Float32Array(plane * 3);
  const data = image.data;
  for (let p = 0; p < plane; p++) {
    const alpha = data[p * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const value = alpha === 255
        ? data[p * 4 + c]
        : (data[p * 4 + c] * alpha + background[c] * (255 - alpha)) / 255;
      tensor[c * plane + p] = value / 255;
    }
  }
  return tensor;
}

/**
 * CHW float RGB (values clamped to [0, 1], NaN as 0) to opaque RGBA bytes, rounding to the
 * nearest byte.
 *
 * @example
 * ```ts
 * import { tensorToImage } from "@editmgt/editmgt/image";
 * const image = tensorToImage(new Float32Array([1, 0, 0.5]), { width: 1, height: 1 });
 * console.log(image.data); // [255, 0, 128, 255]
 * ```
 */
export function tensorToImage(tensor: Float32Array, size: Size): RgbaImage {
  const plane = size.width * size.height;
  if (tensor.length !== plane * 3) {
    throw lengthMismatch(
      `a [1, 3, ${size.height}, ${size.width}] tensor`,
      plane * 3,
      tensor.length,
    );
  }
  const data = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const value = tensor[c * plane + p];
      data[p * 4 + c] = value > 0 ? Math.round(Math.min(value, 1) * 255) : 0;
    }
    data[p * 4 + 3] = 255;
  }
  return { width: size.width, height: size.height, data };
}
