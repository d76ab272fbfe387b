/**
 * Format sniffing and header parsing: the format, stored size and EXIF orientation of an image,
 * read from its first bytes without decoding, so oversized or broken images are refused before
 * any pixel buffer is allocated.
 *
 * @module
 */
import { corruptImage, imageTooLarge, unsupportedFormat } from "./errors.ts";
import { type Orientation, readExifOrientation } from "./exif.ts";
import type { ImageFormat, Size } from "./types.ts";

/** Default pixel limit: 4096 x 4096 = 16.7 megapixels (64 MiB of RGBA). */
export const DEFAULT_MAX_PIXELS: number = 4096 * 4096;

/** What the header of an image says about it. */
export interface ImageHeader extends Size {
  /** The container format. */
  format: ImageFormat;
  /** EXIF orientation of a JPEG; 1 for other formats. `width`/`height` are as stored. */
  orientation: Orientation;
}

/** No PNG, JPEG or WebP file is shorter than this (a PNG needs 57 bytes, a WebP 26+). */
const MIN_IMAGE_BYTES = 16;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Formats we recognise only to name them in the error message. */
const UNSUPPORTED_SIGNATURES: ReadonlyArray<[string, number, readonly number[]]> = [
  ["GIF", 0, [0x47, 0x49, 0x46, 0x38]], // "GIF8"
  ["BMP", 0, [0x42, 0x4d]], // "BM"
  ["TIFF", 0, [0x49, 0x49, 0x2a, 0x00]], // "II*\0"
  ["TIFF", 0, [0x4d, 0x4d, 0x00, 0x2a]], // "MM\0*"
  ["HEIF/AVIF", 4, [0x66, 0x74, 0x79, 0x70]], // "ftyp"
  ["ICO", 0, [0x00, 0x00, 0x01, 0x00]],
];

/**
 * Detects PNG, JPEG or WebP from the magic bytes; `undefined` for anything else.
 *
 * @example
 * ```ts
 * import { sniffFormat } from "@editmgt/editmgt/image";
 * console.log(sniffFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))); // "jpeg"
 * ```
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, 0, PNG_SIGNATURE)) return "png";
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, 0, ascii("RIFF")) && startsWith(bytes, 8, ascii("WEBP"))) return "webp";
  return undefined;
}

/**
 * Reads format, stored size and orientation from the header, and checks that the file is
 * complete (PNG: an IEND chunk; JPEG: an end-of-image marker after the first scan; WebP: the
 * RIFF size). Throws `unsupported_format` for other formats (including animated WebP) and a
 * corrupt-image error for empty, truncated or malformed headers (and for anything under 16
 * bytes, too short to tell).
 *
 * @example
 * ```ts
 * import { readImageHeader } from "@editmgt/editmgt/image";
 * const png = new Uint8Array([
 *   0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
 *   0, 0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0, 0, 0, 0, 0, // IHDR 3x2 (CRC not checked here)
 *   0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82, // IEND
 * ]);
 * console.log(readImageHeader(png)); // { format: "png", width: 3, height: 2, orientation: 1 }
 * ```
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length === 0) throw corruptImage("the file is empty");
  if (bytes.length < MIN_IMAGE_BYTES) {
    throw corruptImage(`the file has only ${bytes.length} bytes, too few for an image`);
  }
  const format = sniffFormat(bytes);
  switch (format) {
    case "png":
      return readPngHeader(bytes);
    case "jpeg":
      return readJpegHeader(bytes);
    case "webp":
      return readWebpHeader(bytes);
    case undefined: {
      const known = UNSUPPORTED_SIGNATURES.find(([, at, magic]) => startsWith(bytes, at, magic));
      throw unsupportedFormat(known ? `${known[0]} image` : "this file (unknown format)");
    }
  }
}

/**
 * Throws the image-too-large error when `size` has more than `maxPixels` pixels.
 *
 * @example
 * ```ts
 * import { assertPixelLimit } from "@editmgt/editmgt/image";
 * assertPixelLimit({ width: 1024, height: 768 }, 4096 * 4096); // fine
 * ```
 */
export function assertPixelLimit(size: Size, maxPixels: number = DEFAULT_MAX_PIXELS): void {
  if (size.width * size.height > maxPixels) throw imageTooLarge(size, maxPixels);
}

function readPngHeader(bytes: Uint8Array): ImageHeader {
  // signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4)
  if (bytes.length < 24 || !startsWith(bytes, 12, ascii("IHDR"))) {
    throw corruptImage("PNG header (IHDR) is missing or cut off");
  }
  const view = viewOf(bytes);
  const size = checkedSize("PNG", view.getUint32(16), view.getUint32(20));
  // IEND: zero length, type, CRC; all 12 bytes must be there.
  const end = lastIndexOf(bytes, [0, 0, 0, 0, ...ascii("IEND")], 8);
  if (end < 0 || end + 12 > bytes.length) {
    throw corruptImage("PNG has no complete IEND chunk (the file is truncated)");
  }
  return { format: "png", ...size, orientation: 1 };
}

/** JPEG start-of-frame markers: SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
    marker !== 0xcc;
}

/** Walks the marker segments up to the first scan, collecting orientation and frame size. */
function readJpegHeader(bytes: Uint8Array): ImageHeader {
  const view = viewOf(bytes);
  let orientation: Orientation = 1;
  let size: Size | undefined;
  let at = 2;
  for (;;) {
    if (at >= bytes.length) throw corruptImage("JPEG ends inside its header (truncated)");
    if (bytes[at] !== 0xff) throw corruptImage(`JPEG marker expected at byte ${at}`);
    while (at < bytes.length && bytes[at] === 0xff) at++; // fill bytes
    if (at >= bytes.length) throw corruptImage("JPEG ends inside its header (truncated)");
    const marker = bytes[at++];
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue; // no length field
    if (marker === 0xd9) throw corruptImage("JPEG ends before any image data");
    if (at + 2 > bytes.length) throw corruptImage("JPEG ends inside its header (truncated)");
    const segmentEnd = at + view.getUint16(at);
    if (segmentEnd < at + 2 || segmentEnd > bytes.length) {
      throw corruptImage(`JPEG segment 0xFF${hex(marker)} runs past the end of the file`);
    }
    if (marker === 0xda) { // start of scan: the header is complete
      if (size === undefined) throw corruptImage("JPEG has no frame header before its scan");
      if (lastIndexOf(bytes, [0xff, 0xd9], segmentEnd) < 0) {
        throw corruptImage("JPEG has no end-of-image marker (the file is truncated)");
      }
      return { format: "jpeg", ...size, orientation };
    }
    if (marker === 0xe1 && orientation === 1) {
      orientation = readExifOrientation(bytes.subarray(at + 2, segmentEnd));
    }
    if (isStartOfFrame(marker)) {
      if (segmentEnd - at < 7) throw corruptImage("JPEG frame header is too short");
      size = checkedSize("JPEG", view.getUint16(at + 5), view.getUint16(at + 3));
    }
    at = segmentEnd;
  }
}

function readWebpHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length < 30) throw corruptImage("WebP header is cut off");
  const view = viewOf(bytes);
  if (view.getUint32(4, true) + 8 > bytes.length) {
    throw corruptImage("WebP is shorter than its RIFF header says (the file is truncated)");
  }
  const chunk = String.fromCharCode(...bytes.subarray(12, 16));
  if (chunk === "VP8 ") { // lossy: key frame start code 9D 01 2A, then 14-bit sizes
    if (!startsWith(bytes, 23, [0x9d, 0x01, 0x2a])) throw corruptImage("WebP VP8 frame is invalid");
    return webpHeader(view.getUint16(26, true) & 0x3fff, view.getUint16(28, true) & 0x3fff);
  }
  if (chunk === "VP8L") { // lossless: signature 0x2F, then 14-bit width-1 and height-1
    if (bytes[20] !== 0x2f) throw corruptImage("WebP VP8L signature is invalid");
    const bits = view.getUint32(21, true);
    return webpHeader((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === "VP8X") { // extended: flags, then 24-bit canvas width-1 and height-1
    if (bytes[20] & 0x02) throw unsupportedFormat("animated WebP");
    return webpHeader(readUint24(bytes, 24) + 1, readUint24(bytes, 27) + 1);
  }
  throw corruptImage(`WebP starts with an unknown chunk "${chunk}"`);
}

function webpHeader(width: number, height: number): ImageHeader {
  return { format: "webp", ...checkedSize("WebP", width, height), orientation: 1 };
}

function checkedSize(format: string, width: number, height: number): Size {
  if (width === 0 || height === 0) throw corruptImage(`${format} header declares a zero size`);
  return { width, height };
}

function readUint24(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function ascii(text: string): number[] {
  return Array.from(text, (char) => char.charCodeAt(0));
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}

function startsWith(bytes: Uint8Array, at: number, magic: readonly number[]): boolean {
  if (bytes.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

/** Last position at or after `from` where `pattern` occurs, or -1 (searches from the end). */
function lastIndexOf(bytes: Uint8Array, pattern: readonly number[], from: number): number {
  for (let at = bytes.length - pattern.length; at >= from; at--) {
    if (startsWith(bytes, at, pattern)) return at;
  }
  return -1;
}
