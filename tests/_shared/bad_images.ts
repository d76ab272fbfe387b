/**
 * Image files that must be refused, shared by the codec's tests (tests/image) and the server's
 * bad-input corpus (tests/server): empty, truncated and corrupt files, formats the library does
 * not decode, and headers that claim impossible sizes. Every function returns fresh bytes, so a
 * test may change them.
 *
 * @module
 */

import { fixtureImage } from "./fixtures.ts";

/** A zero-byte file: nothing to recognise, so a corrupt-image error (not an unsupported one). */
export function zeroByteFile(): Uint8Array {
  return new Uint8Array();
}

/** The first half of `bytes`: a file cut off in the middle of its data. */
export function truncatedHalf(bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, Math.floor(bytes.length / 2));
}

/** A PNG signature followed by 64 bytes of garbage instead of an IHDR chunk. */
export function pngSignatureThenGarbage(): Uint8Array {
  const bytes = new Uint8Array(8 + 64).fill(7);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}

/**
 * `png` (a file whose IHDR is followed directly by its IDAT, as the library's encoder writes
 * them) with a valid header but its compressed pixel data overwritten by 0x55 bytes.
 */
export function pngWithGarbagePixels(png: Uint8Array): Uint8Array {
  const bytes = png.slice();
  const idatData = 8 + 25 + 8; // signature, IHDR chunk, IDAT length and type
  bytes.fill(0x55, idatData, bytes.length - 12); // up to the IEND chunk
  return bytes;
}

/** A PNG signature and IHDR claiming `width` x `height`, then an IEND chunk (no pixel data). */
export function pngHeaderOnly(width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(45);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  bytes.set([8, 6, 0, 0, 0], 24);
  bytes.set([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82], 33);
  return bytes;
}

/** The 7x5 pattern JPEG with its frame header (SOF0) rewritten to claim `width` x `height`. */
export function jpegClaiming(width: number, height: number): Uint8Array {
  const bytes = fixtureImage("pattern-7x5.jpg");
  const view = new DataView(bytes.buffer);
  const frame = jpegFrameHeader(bytes);
  view.setUint16(frame + 5, height);
  view.setUint16(frame + 7, width);
  return bytes;
}

/**
 * The 7x5 pattern JPEG with its frame header claiming a sample precision of `bits` (8 is the
 * only one baseline decoders read): a header that looks valid and fails in the codec.
 */
export function jpegWithPrecision(bits: number): Uint8Array {
  const bytes = fixtureImage("pattern-7x5.jpg");
  bytes[jpegFrameHeader(bytes) + 4] = bits;
  return bytes;
}

/** Offset of the SOF0 marker (0xFFC0) in `bytes`. */
function jpegFrameHeader(bytes: Uint8Array): number {
  let marker = 2;
  while (!(bytes[marker] === 0xff && bytes[marker + 1] === 0xc0)) marker++;
  return marker;
}

/** A RIFF/WEBP file with a VP8X chunk claiming `width` x `height` with `flags`, and no image. */
function webpExtendedHeader(width: number, height: number, flags = 0): Uint8Array {
  const bytes = new Uint8Array(30);
  const view = new DataView(bytes.buffer);
  bytes.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
  view.setUint32(4, 22, true);
  bytes.set([0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x58], 8); // WEBPVP8X
  view.setUint32(16, 10, true);
  bytes[20] = flags;
  for (const [at, value] of [[24, width - 1], [27, height - 1]]) {
    bytes.set([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff], at);
  }
  return bytes;
}

/** A 10x10 extended WebP header with the animation flag set: an animated WebP. */
export function animatedWebp(): Uint8Array {
  return webpExtendedHeader(10, 10, 0x02);
}

/**
 * Decompression bombs by format: headers claiming 100000x100000 pixels (65000x65000 for JPEG,
 * whose sizes are 16-bit) over a few bytes, to be refused from the header before decoding.
 */
export function decompressionBombs(): Record<string, Uint8Array> {
  return {
    PNG: pngHeaderOnly(100_000, 100_000),
    WebP: webpExtendedHeader(100_000, 100_000),
    JPEG: jpegClaiming(65_000, 65_000),
  };
}

/** The 7x5 pattern as a GIF (a format the library does not decode). */
export function gifFile(): Uint8Array {
  return fixtureImage("pattern-7x5.gif");
}

/**
 * Files in formats the library does not decode, keyed by the name its unsupported-format error
 * gives them: real GIF and BMP files, the magic bytes of TIFF and HEIF/AVIF, and an SVG as text.
 */
export function unsupportedFormats(): Record<string, Uint8Array> {
  return {
    GIF: gifFile(),
    BMP: fixtureImage("pattern-7x5.bmp"),
    TIFF: new Uint8Array([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    "HEIF/AVIF": new Uint8Array([0, 0, 0, 24, ...ascii("ftypavif"), 0, 0, 0, 0]),
    "unknown format": new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"),
  };
}

function ascii(text: string): number[] {
  return [...text].map((char) => char.charCodeAt(0));
}
