/**
 * Images at the edge of the API: base64 in JSON bodies, the check of uploads before they are
 * queued (from the header alone: format, complete file, pixel limit; the pixels are decoded
 * once, in the engine's Worker), and the output formats a client may ask for.
 *
 * @module
 */

import { EditMGTError } from "../../errors/mod.ts";
import { clip } from "../errors.ts";
import { sizeMismatch } from "../../image/errors.ts";
import { assertPixelLimit, readImageHeader } from "../../image/header.ts";
import type { ImageFormat, Size } from "../../image/types.ts";

/** An uploaded image, checked from its header. */
export interface CheckedImage {
  /** The bytes as uploaded. */
  bytes: Uint8Array;
  /** Its format. */
  format: ImageFormat;
  /** Width once displayed (EXIF orientation applied). */
  width: number;
  /** Height once displayed (EXIF orientation applied). */
  height: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[\w.-]+)*;base64,/i;

/** Media types of the output formats. */
export const IMAGE_CONTENT_TYPES: Record<ImageFormat, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
};

/**
 * The bytes of a base64 string or a `data:...;base64,` URL. Throws `invalid_input` naming
 * `field` when it is neither.
 *
 * @example
 * ```ts
 * import { decodeBase64Image } from "./images.ts";
 *
 * console.log(decodeBase64Image("data:image/png;base64,iVBORw==", "image")); // Uint8Array(4)
 * ```
 */
export function decodeBase64Image(text: unknown, field: string): Uint8Array {
  if (typeof text !== "string" || text.length === 0) {
    throw new EditMGTError(
      "invalid_input",
      `${field} must be a base64 string or a data: URL with the image file`,
      { details: { field } },
    );
  }
  const payload = text.replace(DATA_URL, "").replace(/\s+/g, "");
  if (payload.length % 4 === 1 || !BASE64.test(payload)) {
    throw new EditMGTError("invalid_input", `${field} is not valid base64`, {
      details: { field },
    });
  }
  const padded = payload.padEnd(Math.ceil(payload.length / 4) * 4, "=");
  const binary = atob(padded);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/**
 * Checks an uploaded image from its header, without decoding it: typed 4xx errors for an
 * unsupported format, a truncated or malformed header, or more than `maxPixels` pixels.
 *
 * @example
 * ```ts
 * import { checkImage } from "./images.ts";
 *
 * try {
 *   checkImage(new Uint8Array([1, 2, 3]), 4096 * 4096);
 * } catch (error) {
 *   console.log((error as { code: string }).code); // invalid_input
 * }
 * ```
 */
export function checkImage(bytes: Uint8Array, maxPixels: number): CheckedImage {
  const header = readImageHeader(bytes);
  assertPixelLimit(header, maxPixels);
  const swapped = header.orientation >= 5;
  return {
    bytes,
    format: header.format,
    width: swapped ? header.height : header.width,
    height: swapped ? header.width : header.height,
  };
}

/** Throws `invalid_input` unless `mask` has the size of `image`. */
export function assertSameSize(image: Size, mask: Size, what = "the mask"): void {
  if (mask.width !== image.width || mask.height !== image.height) {
    throw sizeMismatch(what, image, mask);
  }
}

/** The output format named by `?format=` (or `output_format`), or undefined when absent. */
export function parseImageFormat(
  value: string | undefined,
  field: string,
): ImageFormat | undefined {
  if (value === undefined || value === "") return undefined;
  const format = value.toLowerCase() === "jpg" ? "jpeg" : value.toLowerCase();
  if (format === "png" || format === "jpeg" || format === "webp") return format;
  throw new EditMGTError(
    "invalid_option",
    `${field} must be png, jpeg or webp, got "${clip(value)}"`,
    { details: { option: field } },
  );
}

/** The first image format an `Accept` header names, if any. */
export function acceptedImageFormat(accept: string | undefined): ImageFormat | undefined {
  for (const part of (accept ?? "").split(",")) {
    const type = part.split(";")[0].trim().toLowerCase();
    const format = (Object.keys(IMAGE_CONTENT_TYPES) as ImageFormat[])
      .find((name) => IMAGE_CONTENT_TYPES[name] === type);
    if (format) return format;
  }
  return undefined;
}

/** Base64 of `bytes` (standard alphabet, padded). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return btoa(binary);
}

/** A `data:` URL of PNG bytes. */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${toBase64(png)}`;
}
