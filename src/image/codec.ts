/**
 * Decoding and encoding PNG, JPEG and WebP with the Squoosh codecs compiled to WebAssembly
 * (`@jsquash/*`): one code path for Deno, browsers and workers, no native addons. Each codec
 * fetches its `.wasm` file next to its module (`new URL(..., import.meta.url)`) on first use.
 *
 * Decoding is guarded: the header is read first ({@linkcode readImageHeader}), images over the
 * pixel limit are refused before any pixel is decoded, and codec failures become typed errors.
 *
 * @module
 */
import { decode as decodePng, encode as encodePng } from "@jsquash/png";
import decodeJpegWasm, { init as initJpegDecoder } from "@jsquash/jpeg/decode.js";
import { encode as encodeJpeg } from "@jsquash/jpeg";
import { decode as decodeWebpWasm } from "@jsquash/webp";
import { encode as encodeWebp } from "@jsquash/webp";
import { checkedOption, corruptImage, lengthMismatch } from "./errors.ts";
import { applyOrientation } from "./exif.ts";
import { assertPixelLimit, DEFAULT_MAX_PIXELS, readImageHeader } from "./header.ts";
import type { ImageFormat, RgbaImage } from "./types.ts";

/** Options for {@linkcode decodeImage}. */
export interface DecodeOptions {
  /** Refuse images with more pixels than this. Default {@linkcode DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
  /** Apply the JPEG EXIF orientation to the pixels. Default `true`. */
  applyExifOrientation?: boolean;
}

/** Options for {@linkcode encodeImage}. */
export interface EncodeOptions {
  /** Output format. Default `"png"`. */
  format?: ImageFormat;
  /**
   * Quality 0-100 for JPEG and lossy WebP. Default 90. PNG is always lossless and ignores it.
   * JPEG has no alpha channel: alpha is dropped, colour is kept as stored.
   */
  quality?: number;
}

/** A decoded image with the format it came in. */
export interface DecodedImage extends RgbaImage {
  /** The format of the input bytes. */
  format: ImageFormat;
}

/**
 * Decodes PNG, JPEG or WebP bytes to RGBA pixels, oriented for display.
 *
 * Errors: `unsupported_format` (GIF, BMP, animated WebP, unknown bytes), the image-too-large
 * error (over `maxPixels`, decided from the header alone) and the corrupt-image error (empty,
 * truncated or undecodable bytes). Never throws anything untyped.
 *
 * @example
 * ```ts
 * import { createImage, decodeImage, encodeImage } from "@editmgt/editmgt/image";
 * const bytes = await encodeImage(createImage({ width: 3, height: 2 })); // or Deno.readFile(...)
 * const image = await decodeImage(bytes, { maxPixels: 2048 * 2048 });
 * console.log(image.format, image.width, image.height); // png 3 2
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  const header = readImageHeader(bytes);
  assertPixelLimit(
    header,
    checkedOption("maxPixels", options.maxPixels ?? DEFAULT_MAX_PIXELS, 1, 2 ** 32),
  );
  const decoded = await decodeWith(header.format, bytes);
  if (decoded.width !== header.width || decoded.height !== header.height) {
    throw corruptImage(
      `the ${header.format} decoder returned ${decoded.width}x${decoded.height}, ` +
        `the header says ${header.width}x${header.height}`,
    );
  }
  const oriented = options.applyExifOrientation === false
    ? decoded
    : applyOrientation(decoded, header.orientation);
  return { format: header.format, ...oriented };
}

/**
 * Encodes RGBA pixels as PNG (lossless; the same pixels always give the same bytes), JPEG or
 * WebP.
 *
 * @example
 * ```ts
 * import { createImage, encodeImage } from "@editmgt/editmgt/image";
 * const png = await encodeImage(createImage({ width: 8, height: 8 }));
 * const jpeg = await encodeImage(createImage({ width: 8, height: 8 }), { format: "jpeg" });
 * console.log(png.length > 0, jpeg.length > 0);
 * ```
 */
export async function encodeImage(
  image: RgbaImage,
  options: EncodeOptions = {},
): Promise<Uint8Array> {
  const expectedLength = image.width * image.height * 4;
  if (image.data.length !== expectedLength) {
    throw lengthMismatch(
      `the ${image.width}x${image.height} RGBA buffer`,
      expectedLength,
      image.data.length,
    );
  }
  const imageData = asImageData(image);
  const quality = checkedOption("quality", options.quality ?? 90, 0, 100);
  switch (options.format ?? "png") {
    case "png":
      return new Uint8Array(await encodePng(imageData));
    case "jpeg":
      return new Uint8Array(await encodeJpeg(imageData, { quality }));
    case "webp":
      return new Uint8Array(await encodeWebp(imageData, { quality }));
  }
}

/** Runs the codec for `format`; its failures become corrupt-image errors. */
async function decodeWith(format: ImageFormat, bytes: Uint8Array): Promise<RgbaImage> {
  const buffer = exactBuffer(bytes);
  try {
    const { width, height, data } = await DECODERS[format](buffer);
    if (!(data instanceof Uint8ClampedArray)) throw new Error("decoder returned no 8-bit pixels");
    return { width, height, data };
  } catch (error) {
    const reason = (format === "jpeg" && jpegDecoderMessage) || describe(error);
    if (format === "jpeg") startJpegDecoder();
    throw corruptImage(`the ${format} decoder failed: ${reason}`, error);
  }
}

const DECODERS: Record<ImageFormat, (buffer: ArrayBuffer) => Promise<ImageData>> = {
  png: (buffer) => decodePng(buffer),
  jpeg: (buffer) => {
    if (jpegDecoderMessage === undefined) startJpegDecoder();
    jpegDecoderMessage = "";
    return decodeJpegWasm(buffer);
  },
  webp: (buffer) => decodeWebpWasm(buffer),
};

/** The last message libjpeg printed (its error text); `undefined` until the decoder starts. */
let jpegDecoderMessage: string | undefined;

/**
 * Starts a fresh libjpeg instance whose messages are captured instead of printed. libjpeg exits
 * in the middle of a failed decode and leaves its allocations behind, so a failure replaces the
 * instance.
 */
function startJpegDecoder(): void {
  jpegDecoderMessage = "";
  initJpegDecoder({
    print: () => {},
    printErr: (message: string) => jpegDecoderMessage = message,
  });
}

/**
 * The codecs take an `ImageData`. The PNG encoder reads the whole underlying buffer, so a view
 * into a larger (or shared) buffer is copied first.
 */
function asImageData(image: RgbaImage): ImageData {
  const data = spansOwnBuffer(image.data)
    ? image.data as Uint8ClampedArray<ArrayBuffer>
    : new Uint8ClampedArray(image.data);
  return {
    width: image.width,
    height: image.height,
    data,
    colorSpace: "srgb",
    pixelFormat: "rgba-unorm8",
  };
}

/** An `ArrayBuffer` holding exactly these bytes (the view's own buffer when it spans it). */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  return spansOwnBuffer(bytes) ? bytes.buffer as ArrayBuffer : bytes.slice().buffer;
}

/** Whether the view covers all of a (non-shared) `ArrayBuffer`. */
function spansOwnBuffer(view: ArrayBufferView): boolean {
  return view.buffer instanceof ArrayBuffer && view.byteOffset === 0 &&
    view.byteLength === view.buffer.byteLength;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  return "unknown codec error";
}
