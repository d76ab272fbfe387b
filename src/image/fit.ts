/**
 * How an image of any shape goes into the model's square frame and comes back out.
 *
 * - `"squash"` (upstream's behaviour, the default): the image is resized to the frame, whatever
 *   its aspect ratio, and the output is resized back.
 * - `"pad"`: the image is scaled to fit inside the frame with its aspect ratio kept, centred
 *   (its offset a whole number of token cells, so the content starts on a token boundary), and
 *   the rest of the frame is filled by replicating the image's edge pixels, so tokens across the
 *   border see a plausible continuation rather than a hard bar. The padding is no part of the
 *   edit: its tokens are held to the source and it is cropped away before the output is resized
 *   back.
 *
 * A {@linkcode Frame} records where the image lies in the frame; the same frame maps the user's
 * mask in, the keep mask out ({@linkcode frameRegion}) and the decoded output back
 * ({@linkcode cropImage}).
 *
 * @module
 */
import { checkedOption } from "./errors.ts";
import { resampleMap, resizeImage } from "./resize.ts";
import type { BinaryMask, RgbaImage, Size } from "./types.ts";

/** How an image goes into the model's square: stretched (`"squash"`) or padded (`"pad"`). */
export type FitMode = "squash" | "pad";

/** Every {@linkcode FitMode}. */
export const FIT_MODES: readonly FitMode[] = ["squash", "pad"];

/** A rectangle: its top-left corner and its size. */
export interface Rect extends Size {
  /** Left edge. */
  x: number;
  /** Top edge. */
  y: number;
}

/** Where an image lies in the model's frame. */
export interface Frame extends Size {
  /** The image's rectangle in the frame, in whole model pixels. */
  content: Rect;
}

/**
 * The frame of an image of `image` size at the model's `resolution`, whose VQ tokens form `grid`.
 *
 * @example
 * ```ts
 * import { frameFor } from "@editmgt/editmgt/image";
 *
 * const frame = frameFor({ width: 3000, height: 2000 }, { width: 1024, height: 1024 }, { width: 64, height: 64 }, "pad");
 * console.log(frame.content); // { x: 0, y: 160, width: 1024, height: 683 }
 * ```
 */
export function frameFor(image: Size, resolution: Size, grid: Size, fit: FitMode): Frame {
  const whole = { x: 0, y: 0, width: resolution.width, height: resolution.height };
  if (fit === "squash") {
    return { width: resolution.width, height: resolution.height, content: whole };
  }
  const scale = Math.min(resolution.width / image.width, resolution.height / image.height);
  const axis = (length: number, frame: number, cells: number) => {
    const size = Math.min(frame, Math.max(1, Math.round(length * scale)));
    const cell = frame / cells;
    return { size, offset: Math.round(Math.floor((frame - size) / 2 / cell) * cell) };
  };
  const x = axis(image.width, resolution.width, grid.width);
  const y = axis(image.height, resolution.height, grid.height);
  return {
    width: resolution.width,
    height: resolution.height,
    content: { x: x.offset, y: y.offset, width: x.size, height: y.size },
  };
}

/** Whether the image fills its whole frame (always so for `"squash"`). */
export function fillsFrame(frame: Frame): boolean {
  const { content } = frame;
  return content.x === 0 && content.y === 0 && content.width === frame.width &&
    content.height === frame.height;
}

/**
 * The image in its frame, at the frame's size: resized to the content rectangle (area average
 * where it shrinks, bicubic where it grows) and, when padded, surrounded by its replicated edge
 * pixels.
 *
 * @example
 * ```ts
 * import { createImage, fitImage, frameFor } from "@editmgt/editmgt/image";
 *
 * const image = createImage({ width: 200, height: 100 }, [200, 30, 30, 255]);
 * const frame = frameFor(image, { width: 64, height: 64 }, { width: 16, height: 16 }, "pad");
 * const fitted = fitImage(image, frame);
 * console.log(fitted.width, fitted.height, fitted.data.slice(0, 4)); // 64 64 [200, 30, 30, 255]
 * ```
 */
export function fitImage(image: RgbaImage, frame: Frame): RgbaImage {
  const { content } = frame;
  const resized = image.width === content.width && image.height === content.height
    ? image
    : resizeImage(image, content);
  if (fillsFrame(frame)) return resized;
  const data = new Uint8ClampedArray(frame.width * frame.height * 4);
  for (let y = 0; y < frame.height; y++) {
    const row = clamp(y - content.y, content.height) * content.width;
    for (let x = 0; x < frame.width; x++) {
      const from = (row + clamp(x - content.x, content.width)) * 4;
      data.set(resized.data.subarray(from, from + 4), (y * frame.width + x) * 4);
    }
  }
  return { width: frame.width, height: frame.height, data };
}

/**
 * A user's pixel mask of the image, moved into its frame (at the frame's size): a frame pixel is
 * set when any part of it covers a set pixel of the mask; the padding is never set.
 *
 * @example
 * ```ts
 * import { fitMask, frameFor } from "@editmgt/editmgt/image";
 *
 * const mask = { width: 4, height: 2, data: new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]) };
 * const frame = frameFor(mask, { width: 4, height: 4 }, { width: 4, height: 4 }, "pad");
 * console.log(fitMask(mask, frame).data); // row 0 and 3 are padding; [1, 0, 0, 0] on row 1
 * ```
 */
export function fitMask(mask: BinaryMask, frame: Frame): BinaryMask {
  const { content } = frame;
  const coverage = resampleMap(
    { width: mask.width, height: mask.height, data: Float32Array.from(mask.data) },
    content,
    "area",
    "area",
  );
  const data = new Uint8Array(frame.width * frame.height);
  for (let y = 0; y < content.height; y++) {
    for (let x = 0; x < content.width; x++) {
      const set = coverage.data[y * content.width + x] > 0;
      data[(y + content.y) * frame.width + x + content.x] = set ? 1 : 0;
    }
  }
  return { width: frame.width, height: frame.height, data };
}

/**
 * The tokens of `grid` that show any of the image (1) rather than only padding (0): the tokens
 * an edit may change.
 *
 * @example
 * ```ts
 * import { frameFor, frameTokens } from "@editmgt/editmgt/image";
 *
 * const frame = frameFor({ width: 2, height: 1 }, { width: 64, height: 64 }, { width: 4, height: 4 }, "pad");
 * console.log(frameTokens(frame, { width: 4, height: 4 }).data); // rows 1 and 2 set
 * ```
 */
export function frameTokens(frame: Frame, grid: Size): BinaryMask {
  const region = frameRegion(frame, grid);
  const data = new Uint8Array(grid.width * grid.height);
  const overlaps = (cell: number, start: number, length: number) =>
    cell < start + length && cell + 1 > start;
  for (let row = 0; row < grid.height; row++) {
    if (!overlaps(row, region.y, region.height)) continue;
    for (let column = 0; column < grid.width; column++) {
      if (overlaps(column, region.x, region.width)) data[row * grid.width + column] = 1;
    }
  }
  return { width: grid.width, height: grid.height, data };
}

/**
 * The image's rectangle in cells of `grid` (fractional where the content ends inside a token):
 * what `tokenMaskToPixelMask` and `compositePreserved` take as `region` to map tokens onto the
 * image's own pixels.
 */
export function frameRegion(frame: Frame, grid: Size): Rect {
  const sx = grid.width / frame.width;
  const sy = grid.height / frame.height;
  const { content } = frame;
  return {
    x: content.x * sx,
    y: content.y * sy,
    width: content.width * sx,
    height: content.height * sy,
  };
}

/**
 * The pixels of `rect` (whole pixels, inside the image).
 *
 * @example
 * ```ts
 * import { createImage, cropImage } from "@editmgt/editmgt/image";
 *
 * const crop = cropImage(createImage({ width: 4, height: 4 }), { x: 1, y: 1, width: 2, height: 3 });
 * console.log(crop.width, crop.height); // 2 3
 * ```
 */
export function cropImage(image: RgbaImage, rect: Rect): RgbaImage {
  checkedOption("crop x", rect.x, 0, image.width - 1);
  checkedOption("crop y", rect.y, 0, image.height - 1);
  checkedOption("crop width", rect.width, 1, image.width - rect.x);
  checkedOption("crop height", rect.height, 1, image.height - rect.y);
  if (rect.width === image.width && rect.height === image.height) return image;
  const data = new Uint8ClampedArray(rect.width * rect.height * 4);
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.y + y) * image.width + rect.x) * 4;
    data.set(image.data.subarray(from, from + rect.width * 4), y * rect.width * 4);
  }
  return { width: rect.width, height: rect.height, data };
}

/**
 * An image made in the frame (a decode at the model's resolution), cropped to the content and
 * resized to `size` (the original image's).
 */
export function unfitImage(image: RgbaImage, frame: Frame, size: Size): RgbaImage {
  const content = cropImage(image, frame.content);
  return content.width === size.width && content.height === size.height
    ? content
    : resizeImage(content, size);
}

function clamp(index: number, length: number): number {
  return Math.min(length - 1, Math.max(0, index));
}
