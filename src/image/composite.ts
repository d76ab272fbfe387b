/**
 * The pixel-exact composite (DESIGN section 7): regions the edit did not touch are copied from
 * the original pixels at the original resolution, so outside the edit the output equals the
 * input byte for byte, and only the edited region comes from the (upscaled) model output.
 *
 * The seam is feathered on the edited side only: an edited pixel at distance d (pixels, to the
 * nearest kept pixel) takes `w = min(1, d / (featherPixels + 1))` of the model output and
 * `1 - w` of the original, so the edit fades in over `featherPixels` pixels while kept pixels
 * stay exact. Alpha is taken from the original everywhere (the model makes colour only).
 *
 * @module
 */
import { distanceToMask } from "./distance.ts";
import { assertCells, checkedOption } from "./errors.ts";
import type { Rect } from "./fit.ts";
import { tokenMaskToPixelMask } from "./mask.ts";
import { resizeImage } from "./resize.ts";
import type { BinaryMask, RgbaImage } from "./types.ts";

/** Options for {@linkcode compositePreserved}. */
export interface CompositeOptions {
  /** Width in pixels of the blend into the edited region. Default 4; 0 gives a hard seam. */
  featherPixels?: number;
  /**
   * The rectangle of the keep mask's grid (in cells) that the original image covers; default the
   * whole grid. An image padded into the model's frame covers only its content (see
   * `frameRegion`); `edited` is then the decode cropped to that content.
   */
  region?: Rect;
}

/**
 * Builds the output at the original size from the original pixels, the decoded model output
 * (at the model resolution; it is resized bicubically) and the per-token keep mask on the VQ
 * grid (1 = the token ended equal to the source and lies in the held region).
 *
 * @example
 * ```ts
 * import { compositePreserved, createImage } from "@editmgt/editmgt/image";
 * const original = createImage({ width: 100, height: 75 }, [200, 10, 10, 255]);
 * const edited = createImage({ width: 64, height: 64 }, [10, 10, 200, 255]);
 * const keep = { width: 2, height: 1, data: new Uint8Array([1, 0]) }; // keep the left half
 * const out = compositePreserved(original, edited, keep);
 * console.log(out.data.slice(0, 4)); // [200, 10, 10, 255], exactly the original
 * ```
 */
export function compositePreserved(
  original: RgbaImage,
  edited: RgbaImage,
  keep: BinaryMask,
  options: CompositeOptions = {},
): RgbaImage {
  const feather = checkedOption("featherPixels", options.featherPixels ?? 4, 0, 1024);
  assertCells("the keep mask", keep);
  const size = { width: original.width, height: original.height };
  const editedFull = edited.width === size.width && edited.height === size.height
    ? edited
    : resizeImage(edited, size);
  const kept = tokenMaskToPixelMask(keep, size, options.region);
  const distance = distanceToMask(kept).data;
  const data = new Uint8ClampedArray(original.data);
  for (let p = 0; p < kept.data.length; p++) {
    if (kept.data[p]) continue;
    const weight = Math.min(1, distance[p] / (feather + 1));
    for (let c = p * 4; c < p * 4 + 3; c++) {
      data[c] = Math.round(original.data[c] + weight * (editedFull.data[c] - original.data[c]));
    }
  }
  return { ...size, data };
}
