/**
 * The pixel work of the server, as plain functions over bytes and pixels: encoding a result,
 * re-encoding (and resizing) a stored PNG, and turning an OpenAI-style mask (alpha 0 = edit)
 * into an edit mask. The image pool runs them in its Workers, off the HTTP thread.
 *
 * @module
 */

import { EditMGTError } from "../../errors/mod.ts";
import { decodeImage, encodeImage } from "../../image/codec.ts";
import { sizeMismatch } from "../../image/errors.ts";
import { resizeImage } from "../../image/resize.ts";
import type { ImageFormat, RgbaImage, Size } from "../../image/types.ts";

/** Encodes pixels in `format`. */
export interface EncodeTask {
  /** Task kind. */
  op: "encode";
  /** The pixels. */
  image: RgbaImage;
  /** Output format. */
  format: ImageFormat;
  /** JPEG/WebP quality 0-100 (default 90). */
  quality?: number;
}

/** Re-encodes image bytes in `format`, resized to `size` when given. */
export interface TranscodeTask {
  /** Task kind. */
  op: "transcode";
  /** PNG, JPEG or WebP bytes. */
  bytes: Uint8Array;
  /** Output format. */
  format: ImageFormat;
  /** Output size; the input's when absent. */
  size?: Size;
  /** JPEG/WebP quality 0-100 (default 90). */
  quality?: number;
}

/**
 * The edit mask (white = edit) of an OpenAI-style request as PNG bytes: from the alpha of
 * `mask` when given, else from the image's own alpha; null when the image has no transparent
 * pixel (then there is no mask).
 */
export interface AlphaMaskTask {
  /** Task kind. */
  op: "alpha-mask";
  /** The source image file. */
  image: Uint8Array;
  /** The mask image file, if any (same size as the image). */
  mask?: Uint8Array;
  /** Pixel limit of the decode. */
  maxPixels: number;
}

/** Work the image pool runs. */
export type ImageTask = EncodeTask | TranscodeTask | AlphaMaskTask;

/** Builds the mask of the edit from an OpenAI mask: alpha 0 (edit here) becomes white. */
export function maskFromAlpha(mask: RgbaImage): RgbaImage {
  const data = new Uint8ClampedArray(mask.width * mask.height * 4);
  for (let pixel = 0; pixel < mask.width * mask.height; pixel++) {
    const value = mask.data[pixel * 4 + 3] === 0 ? 255 : 0;
    data.fill(value, pixel * 4, pixel * 4 + 3);
    data[pixel * 4 + 3] = 255;
  }
  return { width: mask.width, height: mask.height, data };
}

function hasTransparentPixel(image: RgbaImage): boolean {
  for (let i = 3; i < image.data.length; i += 4) if (image.data[i] === 0) return true;
  return false;
}

async function alphaMask(task: AlphaMaskTask): Promise<Uint8Array | null> {
  const options = { maxPixels: task.maxPixels };
  const image = await decodeImage(task.image, options);
  if (task.mask === undefined) {
    return hasTransparentPixel(image) ? await encodeImage(maskFromAlpha(image)) : null;
  }
  const mask = await decodeImage(task.mask, options);
  if (mask.width !== image.width || mask.height !== image.height) {
    throw sizeMismatch("the mask", image, mask);
  }
  if (!hasTransparentPixel(mask)) {
    throw new EditMGTError(
      "invalid_input",
      "the mask is fully opaque, so it marks nothing to edit: here, as in OpenAI's endpoint, " +
        "the mask's transparent pixels (alpha 0) mark the area to edit",
      { details: { field: "mask" } },
    );
  }
  return await encodeImage(maskFromAlpha(mask));
}

/**
 * Runs one task and returns the bytes it made (null: an alpha mask with nothing to edit).
 *
 * @example
 * ```ts
 * import { createImage } from "../../image/mod.ts";
 * import { runImageTask } from "./tasks.ts";
 *
 * const png = await runImageTask({ op: "encode", image: createImage({ width: 4, height: 4 }), format: "png" });
 * const small = await runImageTask({ op: "transcode", bytes: png!, format: "webp", size: { width: 2, height: 2 } });
 * console.log(small!.length > 0); // true
 * ```
 */
export async function runImageTask(task: ImageTask): Promise<Uint8Array | null> {
  const quality = "quality" in task && task.quality !== undefined ? { quality: task.quality } : {};
  switch (task.op) {
    case "encode":
      return await encodeImage(task.image, { format: task.format, ...quality });
    case "transcode": {
      const image = await decodeImage(task.bytes, { maxPixels: 2 ** 32 });
      const sized = task.size === undefined ||
          (task.size.width === image.width && task.size.height === image.height)
        ? image
        : resizeImage(image, task.size);
      return await encodeImage(sized, { format: task.format, ...quality });
    }
    case "alpha-mask":
      return await alphaMask(task);
  }
}

/** Pixels a task holds while it runs (its decoded input and output), for the pixel budget. */
export function taskPixels(task: ImageTask, inputSize: Size): number {
  const input = inputSize.width * inputSize.height;
  switch (task.op) {
    case "encode":
      return input;
    case "transcode":
      return input + (task.size ? task.size.width * task.size.height : input);
    case "alpha-mask":
      return input * (task.mask === undefined ? 2 : 3);
  }
}
