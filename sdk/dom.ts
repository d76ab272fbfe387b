/**
 * The few browser-only APIs the SDK uses (`<img>`, `<video>`, `<canvas>`, `OffscreenCanvas`,
 * `navigator.storage`), typed structurally here: the SDK type-checks with Deno's default
 * libraries (a JSR package may not switch to the DOM library with a triple-slash directive), and
 * the real DOM classes fit these shapes, so pages pass them as they are.
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";
import type { RgbaImage } from "../src/image/types.ts";

/** An `<img>` element, as the SDK reads it. */
export interface ImageElementLike {
  /** Intrinsic width (0 until loaded). */
  readonly naturalWidth: number;
  /** Intrinsic height (0 until loaded). */
  readonly naturalHeight: number;
  /** The image's URL. */
  readonly src: string;
  /** Resolves once the image is decoded. */
  decode(): Promise<void>;
}

/** A `<video>` element, as the SDK reads it (its current frame). */
export interface VideoElementLike {
  /** Width of the video frames. */
  readonly videoWidth: number;
  /** Height of the video frames. */
  readonly videoHeight: number;
}

/** A `<canvas>` or `OffscreenCanvas` to read pixels from. */
export interface CanvasLike {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Its drawing context (the SDK only checks that it is a canvas). */
  getContext(type: string, options?: unknown): unknown;
}

/** The parts of `CanvasRenderingContext2D` the SDK uses. */
export interface Context2D {
  /** Draws an image (anything a canvas can draw) scaled to the rectangle. */
  drawImage(image: unknown, dx: number, dy: number, dw: number, dh: number): void;
  /** Reads pixels. */
  getImageData(sx: number, sy: number, sw: number, sh: number, settings?: object): ImageData;
  /** Writes pixels. */
  putImageData(image: ImageData, dx: number, dy: number): void;
}

/** The parts of `OffscreenCanvas` the SDK uses. */
export interface OffscreenCanvasLike {
  /** A 2D context. */
  getContext(type: "2d", options?: { willReadFrequently?: boolean }): Context2D | null;
  /** Encodes the canvas (off the page's thread in browsers). */
  convertToBlob(options?: { type?: string; quality?: number }): Promise<Blob>;
}

/**
 * A new `OffscreenCanvas` with its 2D context. Rejects with `backend_unavailable` where there is
 * none (outside browsers).
 */
export function offscreenCanvas(
  width: number,
  height: number,
): { canvas: OffscreenCanvasLike; context: Context2D } {
  const Canvas = (globalThis as {
    OffscreenCanvas?: new (width: number, height: number) => OffscreenCanvasLike;
  }).OffscreenCanvas;
  const canvas = Canvas === undefined ? null : new Canvas(width, height);
  const context = canvas?.getContext("2d", { willReadFrequently: true }) ?? null;
  if (canvas === null || context === null) {
    throw new EditMGTError(
      "backend_unavailable",
      "this runtime has no OffscreenCanvas with a 2D context; pass encoded bytes (a Blob) or ImageData instead",
    );
  }
  return { canvas, context };
}

/** `value instanceof globalThis[name]`, false where the runtime lacks the class (workers, Deno). */
export function isInstance(value: unknown, name: string): boolean {
  const constructor = (globalThis as Record<string, unknown>)[name];
  return typeof constructor === "function" && value instanceof constructor;
}

/** The origin's storage estimate (`navigator.storage.estimate()`), when the browser has one. */
export async function storageEstimate(): Promise<{ quota?: number; usage?: number } | null> {
  const storage = (globalThis.navigator as {
    storage?: { estimate?: () => Promise<{ quota?: number; usage?: number }> };
  } | undefined)?.storage;
  if (typeof storage?.estimate !== "function") return null;
  try {
    return await storage.estimate();
  } catch {
    return null;
  }
}

/**
 * The 8-bit RGBA pixels of an `ImageData` (or `RgbaImage`), sharing its buffer. Rejects
 * `invalid_input` for float16 `ImageData` (`pixelFormat: "rgba-float16"`).
 */
export function pixelsOf(image: ImageData | RgbaImage): RgbaImage {
  if (!(image.data instanceof Uint8ClampedArray)) {
    throw new EditMGTError(
      "invalid_input",
      "the ImageData holds float16 pixels; pass 8-bit RGBA ImageData (the default pixel format)",
    );
  }
  return { width: image.width, height: image.height, data: image.data };
}
