/**
 * The typed errors that image input can raise, built on the shared {@linkcode EditMGTError}.
 *
 * @module
 */
import { EditMGTError } from "../errors/mod.ts";
import type { Size } from "./types.ts";

/** The input is not an image format we read (GIF, BMP, TIFF, an animated WebP, unknown bytes). */
export function unsupportedFormat(what: string): EditMGTError {
  return new EditMGTError(
    "unsupported_format",
    `${what} is not supported: use a PNG, JPEG or WebP image`,
    { details: { reason: "unsupported_format" } },
  );
}

/** The image header declares more pixels than the limit allows; nothing was decoded. */
export function imageTooLarge(size: Size, maxPixels: number): EditMGTError {
  return new EditMGTError(
    "payload_too_large",
    `image is ${size.width}x${size.height} = ${size.width * size.height} pixels, over the limit ` +
      `of ${maxPixels}: downscale it first`,
    { details: { reason: "image_too_large", ...size, maxPixels } },
  );
}

/** The bytes claim to be an image of a known format but are truncated or garbled. */
export function corruptImage(what: string, cause?: unknown): EditMGTError {
  return new EditMGTError(
    "invalid_input",
    `corrupt image: ${what}; re-export or re-download the file`,
    { cause, details: { reason: "corrupt_image" } },
  );
}

/** Two inputs that must agree in size (image and mask, map and grid) do not. */
export function sizeMismatch(what: string, expected: Size, actual: Size): EditMGTError {
  return new EditMGTError(
    "invalid_input",
    `${what} is ${actual.width}x${actual.height}, expected ${expected.width}x${expected.height}`,
    { details: { reason: "size_mismatch", expected, actual } },
  );
}

/** A typed array does not have the length its declared size requires. */
export function lengthMismatch(what: string, expected: number, actual: number): EditMGTError {
  return new EditMGTError(
    "invalid_input",
    `${what} has ${actual} values, expected ${expected}`,
    { details: { reason: "size_mismatch", expected, actual } },
  );
}

/** Returns `value` when it is a finite number in [min, max], else throws `invalid_option`. */
export function checkedOption(name: string, value: number, min: number, max: number): number {
  if (!(Number.isFinite(value) && value >= min && value <= max)) {
    throw new EditMGTError("invalid_option", `${name} must be in [${min}, ${max}], got ${value}`, {
      details: { option: name },
    });
  }
  return value;
}

/** Throws when a mask or map's data does not have `width * height` cells. */
export function assertCells(what: string, grid: Size & { data: ArrayLike<number> }): void {
  const expected = grid.width * grid.height;
  if (grid.data.length !== expected) throw lengthMismatch(what, expected, grid.data.length);
}
