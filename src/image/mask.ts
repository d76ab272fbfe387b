/**
 * Masks between pixels and the VQ token grid.
 *
 * - A user mask image marks a pixel when it is bright and opaque: `luma * alpha / 255 >= 128`
 *   (luma = Rec. 601 weights). White-on-black masks and painted strokes on a transparent layer
 *   both work.
 * - Pixel mask to token mask: each token covers a `width / grid.width` by
 *   `height / grid.height` pixel cell (fractional at sizes that are not multiples); a token is
 *   set when the set share of its cell is above `minCoverage`. The default 0 sets a token when
 *   any of its area is set, so every marked pixel ends up inside a set token; 0.5 is a majority
 *   vote.
 * - Token mask to pixel mask: each pixel takes the token under its centre; with a `region`, the
 *   pixels cover only that rectangle of the grid (an image padded into the model's frame).
 *
 * @module
 */
import { assertCells, checkedOption, sizeMismatch } from "./errors.ts";
import { resampleMap } from "./resize.ts";
import type { Rect } from "./fit.ts";
import type { BinaryMask, RgbaImage, Size } from "./types.ts";

/** Options for {@linkcode pixelMaskToTokenMask}. */
export interface TokenMaskOptions {
  /** A token is set when more than this share of its cell is set. Default 0 (any pixel). */
  minCoverage?: number;
}

/**
 * Reads a user mask image: a pixel is set where it is bright and opaque.
 *
 * @example
 * ```ts
 * import { createImage, maskFromImage } from "@editmgt/editmgt/image";
 * const mask = maskFromImage(createImage({ width: 2, height: 2 }, [255, 255, 255, 255]));
 * console.log(mask.data); // [1, 1, 1, 1]
 * ```
 */
export function maskFromImage(image: RgbaImage): BinaryMask {
  const cells = image.width * image.height;
  const data = new Uint8Array(cells);
  for (let p = 0; p < cells; p++) {
    const i = p * 4;
    const luma = 0.299 * image.data[i] + 0.587 * image.data[i + 1] + 0.114 * image.data[i + 2];
    data[p] = luma * image.data[i + 3] / 255 >= 128 ? 1 : 0;
  }
  return { width: image.width, height: image.height, data };
}

/**
 * Pixel mask (any size) to a mask on the token grid, by the covered share of each token's cell.
 *
 * @example
 * ```ts
 * import { pixelMaskToTokenMask } from "@editmgt/editmgt/image";
 * const pixels = { width: 4, height: 2, data: new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]) };
 * const tokens = pixelMaskToTokenMask(pixels, { width: 2, height: 1 });
 * console.log(tokens.data); // [1, 0]
 * ```
 */
export function pixelMaskToTokenMask(
  mask: BinaryMask,
  grid: Size,
  options: TokenMaskOptions = {},
): BinaryMask {
  const minCoverage = checkedOption("minCoverage", options.minCoverage ?? 0, 0, 1);
  assertCells("the pixel mask", mask);
  const coverage = resampleMap(
    { width: mask.width, height: mask.height, data: Float32Array.from(mask.data) },
    grid,
    "area",
    "area",
  );
  const data = new Uint8Array(grid.width * grid.height);
  for (let t = 0; t < data.length; t++) data[t] = coverage.data[t] > minCoverage ? 1 : 0;
  return { width: grid.width, height: grid.height, data };
}

/**
 * A user's mask image for an image of `imageSize` (both as displayed, after EXIF orientation)
 * to the token mask on `grid`: {@linkcode maskFromImage}, then
 * {@linkcode pixelMaskToTokenMask}. A mask of another size than the image is an
 * `invalid_input` error (reason `size_mismatch`), since it would not line up.
 *
 * @example
 * ```ts
 * import { createImage, userMaskToTokenMask } from "@editmgt/editmgt/image";
 * const maskImage = createImage({ width: 30, height: 20 }, [255, 255, 255, 255]);
 * const tokens = userMaskToTokenMask(maskImage, { width: 30, height: 20 }, { width: 4, height: 4 });
 * console.log(tokens.data.every((cell) => cell === 1)); // true
 * ```
 */
export function userMaskToTokenMask(
  maskImage: RgbaImage,
  imageSize: Size,
  grid: Size,
  options: TokenMaskOptions = {},
): BinaryMask {
  if (maskImage.width !== imageSize.width || maskImage.height !== imageSize.height) {
    throw sizeMismatch("the mask image", imageSize, maskImage);
  }
  return pixelMaskToTokenMask(maskFromImage(maskImage), grid, options);
}

/**
 * Token mask to a pixel mask of any size: each pixel takes the token under its centre. The
 * pixels span the whole grid, or only `region` (in cells, fractional allowed) when given.
 *
 * @example
 * ```ts
 * import { tokenMaskToPixelMask } from "@editmgt/editmgt/image";
 * const tokens = { width: 2, height: 1, data: new Uint8Array([1, 0]) };
 * console.log(tokenMaskToPixelMask(tokens, { width: 4, height: 1 }).data); // [1, 1, 0, 0]
 * ```
 */
export function tokenMaskToPixelMask(
  mask: BinaryMask,
  size: Size,
  region: Rect = { x: 0, y: 0, width: mask.width, height: mask.height },
): BinaryMask {
  assertCells("the token mask", mask);
  const columns = cellIndices(size.width, mask.width, region.x, region.width);
  const rows = cellIndices(size.height, mask.height, region.y, region.height);
  const data = new Uint8Array(size.width * size.height);
  for (let y = 0; y < size.height; y++) {
    const tokenRow = rows[y] * mask.width;
    for (let x = 0; x < size.width; x++) {
      data[y * size.width + x] = mask.data[tokenRow + columns[x]];
    }
  }
  return { width: size.width, height: size.height, data };
}

/**
 * For each of `pixels` positions spread over cells [start, start + span) of `cells`, the index
 * of the cell under its centre.
 */
function cellIndices(pixels: number, cells: number, start: number, span: number): Int32Array {
  const indices = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const cell = Math.floor(start + (p + 0.5) * span / pixels);
    indices[p] = Math.min(cells - 1, Math.max(0, cell));
  }
  return indices;
}
