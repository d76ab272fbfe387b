/**
 * Checking an edit's image and mask before any model work: pixel buffers of the right length,
 * sizes within the pixel limit, encoded bytes decoded (header checked first), and a mask
 * turned into the user token mask on the VQ grid.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import { decodeImage } from "../image/codec.ts";
import { sizeMismatch } from "../image/errors.ts";
import { fillsFrame, fitMask, type Frame } from "../image/fit.ts";
import { assertPixelLimit, DEFAULT_MAX_PIXELS } from "../image/header.ts";
import { maskFromImage, pixelMaskToTokenMask } from "../image/mask.ts";
import type { BinaryMask, RgbaImage, Size } from "../image/types.ts";
import type { ImageSource, MaskSource } from "./types.ts";

/**
 * The source image as checked RGBA pixels. Encoded bytes are decoded (EXIF orientation
 * applied); pixel buffers must be `width * height * 4` bytes long.
 *
 * @throws {EditMGTError} `invalid_input` (malformed pixels, corrupt bytes), `payload_too_large`
 * (over `maxPixels`), `unsupported_format`.
 */
export async function readSourceImage(
  image: ImageSource,
  maxPixels: number = DEFAULT_MAX_PIXELS,
): Promise<RgbaImage> {
  if (image instanceof Uint8Array) {
    const { width, height, data } = await decodeImage(image, { maxPixels });
    return { width, height, data };
  }
  checkPixels("image", image);
  assertPixelLimit(image, maxPixels);
  const { data } = image as { data: Uint8Array | Uint8ClampedArray };
  return data instanceof Uint8ClampedArray
    ? image
    : { ...image, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length) };
}

/**
 * The user token mask (one flag per VQ token, 1 = regenerate) from a mask image of the source's
 * size or from a token mask of the grid's size. A mask image is placed in the source's `frame`
 * in the model's square (default: stretched over the whole grid); a token mask is on the grid
 * of that square as it is.
 *
 * @throws {EditMGTError} `invalid_input` for a mask of the wrong size or one that selects nothing.
 */
export async function readUserMask(
  mask: MaskSource,
  imageSize: Size,
  grid: Size,
  frame?: Frame,
  maxPixels: number = DEFAULT_MAX_PIXELS,
): Promise<Uint8Array> {
  const pixelMask = async () => {
    const pixels = maskFromImage(
      await maskImage(mask as RgbaImage | Uint8Array, imageSize, maxPixels),
    );
    return frame === undefined || fillsFrame(frame) ? pixels : fitMask(pixels, frame);
  };
  const tokenMask = isTokenMask(mask)
    ? checkTokenMask(mask, grid)
    : pixelMaskToTokenMask(await pixelMask(), grid);
  if (!tokenMask.data.includes(1)) {
    throw new EditMGTError(
      "invalid_input",
      "the mask selects no region; paint the area to edit white",
      { details: { field: "mask" } },
    );
  }
  return tokenMask.data;
}

async function maskImage(
  mask: RgbaImage | Uint8Array,
  imageSize: Size,
  maxPixels: number,
): Promise<RgbaImage> {
  const image = await readSourceImage(mask, maxPixels);
  if (image.width !== imageSize.width || image.height !== imageSize.height) {
    throw sizeMismatch("the mask image", imageSize, image);
  }
  return image;
}

/** A token mask is a `Uint8Array` of one byte per cell; a mask image has 4 bytes per pixel. */
function isTokenMask(mask: MaskSource): mask is BinaryMask {
  return !(mask instanceof Uint8Array) && mask.data instanceof Uint8Array &&
    !(mask.data instanceof Uint8ClampedArray) && mask.data.length === mask.width * mask.height;
}

function checkTokenMask(mask: BinaryMask, grid: Size): BinaryMask {
  if (mask.width !== grid.width || mask.height !== grid.height) {
    throw sizeMismatch("the token mask", grid, mask);
  }
  return { ...mask, data: Uint8Array.from(mask.data, (flag) => (flag ? 1 : 0)) };
}

function checkPixels(name: string, image: RgbaImage): void {
  const data: unknown = image?.data;
  const valid = image !== null && typeof image === "object" &&
    Number.isSafeInteger(image.width) && image.width > 0 &&
    Number.isSafeInteger(image.height) && image.height > 0 &&
    (data instanceof Uint8ClampedArray || data instanceof Uint8Array) &&
    data.length === image.width * image.height * 4;
  if (!valid) {
    throw new EditMGTError(
      "invalid_input",
      `${name} must be { width, height, data } with width * height * 4 RGBA bytes, or PNG/JPEG/WebP bytes`,
      { details: { field: name } },
    );
  }
}
