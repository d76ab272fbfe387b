/**
 * Turning what a page has (a File, a canvas, an `<img>`, a URL...) into what the engine takes:
 * encoded bytes (decoded in the worker, exactly as the server decodes them, EXIF orientation
 * included) or RGBA pixels.
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";
import { assertPixelLimit, DEFAULT_MAX_PIXELS, readImageHeader } from "../src/image/header.ts";
import type { RgbaImage } from "../src/image/types.ts";
import type { ImageSource } from "../src/pipeline/types.ts";
import {
  type CanvasLike,
  type ImageElementLike,
  isInstance,
  offscreenCanvas,
  pixelsOf,
  type VideoElementLike,
} from "./dom.ts";

/**
 * An image as a page has it: a Blob or File (PNG, JPEG, WebP), an `ImageData` or anything a
 * canvas can draw (`ImageBitmap`, `<img>`, `<canvas>`, `OffscreenCanvas`, `<video>`), or the URL
 * of an image file.
 */
export type ImageInput =
  | Blob
  | ImageData
  | RgbaImage
  | ImageBitmap
  | ImageElementLike
  | CanvasLike
  | VideoElementLike
  | string
  | URL;

/**
 * Reads `input` into an engine image. Encoded files are checked from their header here (format,
 * size), so an unsupported file fails at once with a typed error, before any model work.
 *
 * @throws {EditMGTError} `unsupported_format`, `invalid_input` (corrupt or unreadable image,
 * cross-origin pixels), `not_found` / `download_failed` (URL), `aborted`.
 */
export async function readImageInput(
  input: ImageInput,
  signal?: AbortSignal,
): Promise<ImageSource> {
  if (typeof input === "string" || input instanceof URL) return await fetchImage(input, signal);
  if (input instanceof Blob) return checkedBytes(new Uint8Array(await input.arrayBuffer()));
  if (isPixels(input)) return pixelsOf(input);
  return await drawnPixels(input);
}

/** What {@linkcode inspectImage} reads from a file's header. */
export interface ImageFileInfo {
  /** The file format. */
  format: "png" | "jpeg" | "webp";
  /** Width in pixels (before EXIF orientation). */
  width: number;
  /** Height in pixels (before EXIF orientation). */
  height: number;
}

/**
 * Reads an image file's header without decoding it: the format and size, or the typed error an
 * edit of this file would fail with (so a page can refuse it at once).
 *
 * @example
 * ```ts
 * import { inspectImage, isEditMGTError } from "@editmgt/editmgt/sdk";
 *
 * const file = await (await fetch("/samples/shapes-1.png")).blob(); // or an <input type=file>'s File
 * try {
 *   const { format, width, height } = await inspectImage(file);
 *   console.log(format, width, height);
 * } catch (error) {
 *   if (!isEditMGTError(error)) throw error;
 *   alert(error.message); // e.g. GIF is not supported
 * }
 * ```
 *
 * @throws {EditMGTError} `unsupported_format`, the corrupt-image error, or the too-large error
 * (more pixels than the engine decodes).
 */
export async function inspectImage(file: Blob): Promise<ImageFileInfo> {
  const header = readImageHeader(new Uint8Array(await file.arrayBuffer()));
  assertPixelLimit(header, DEFAULT_MAX_PIXELS);
  return { format: header.format, width: header.width, height: header.height };
}

function isPixels(input: object): input is RgbaImage | ImageData {
  return "data" in input && "width" in input && "height" in input &&
    ArrayBuffer.isView(input.data);
}

/** `bytes` after their header says they are an image this library decodes. */
function checkedBytes(bytes: Uint8Array): Uint8Array {
  assertPixelLimit(readImageHeader(bytes), DEFAULT_MAX_PIXELS);
  return bytes;
}

async function fetchImage(location: string | URL, signal?: AbortSignal): Promise<Uint8Array> {
  const url = new URL(location, globalThis.location?.href);
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (cause) {
    if (signal?.aborted) {
      throw new EditMGTError("aborted", `fetching ${url.href} was cancelled`, { cause });
    }
    throw new EditMGTError("download_failed", `could not fetch the image ${url.href}: ${cause}`, {
      cause,
      details: { url: url.href },
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new EditMGTError(
      response.status === 404 ? "not_found" : "download_failed",
      `fetching the image ${url.href} answered HTTP ${response.status}`,
      { details: { url: url.href, status: response.status } },
    );
  }
  return checkedBytes(new Uint8Array(await response.arrayBuffer()));
}

type Drawable = Exclude<ImageInput, Blob | ImageData | RgbaImage | string | URL>;

async function drawnPixels(source: Drawable): Promise<RgbaImage> {
  if (isInstance(source, "HTMLImageElement")) {
    const image = source as ImageElementLike;
    try {
      await image.decode();
    } catch (cause) {
      throw new EditMGTError("invalid_input", `the <img> ${image.src} could not be decoded`, {
        cause,
      });
    }
  }
  const { width, height } = drawableSize(source);
  if (width === 0 || height === 0) {
    throw new EditMGTError("invalid_input", "the image has no pixels (is it loaded?)");
  }
  const { context } = offscreenCanvas(width, height);
  context.drawImage(source, 0, 0, width, height);
  let pixels: ImageData;
  try {
    pixels = context.getImageData(0, 0, width, height, { colorSpace: "srgb" });
  } catch (cause) {
    throw new EditMGTError(
      "invalid_input",
      "the image comes from another origin without CORS, so its pixels cannot be read; pass the file (Blob) or serve it with CORS",
      { cause },
    );
  }
  return pixelsOf(pixels);
}

function drawableSize(source: Drawable): { width: number; height: number } {
  if (isInstance(source, "HTMLImageElement")) {
    const image = source as ImageElementLike;
    return { width: image.naturalWidth, height: image.naturalHeight };
  }
  if (isInstance(source, "HTMLVideoElement")) {
    const video = source as VideoElementLike;
    return { width: video.videoWidth, height: video.videoHeight };
  }
  const { width, height } = source as CanvasLike | ImageBitmap;
  return { width, height };
}
