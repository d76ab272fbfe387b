/**
 * Heatmaps: a localization map on the token grid, upsampled bilinearly to the image size,
 * coloured with viridis and laid over the image, so users can see which regions the edit was
 * allowed to touch (bright) and which were held (dark).
 *
 * @module
 */
import { viridis } from "./colormap.ts";
import { assertCells, checkedOption } from "./errors.ts";
import { resizeMap } from "./resize.ts";
import type { FloatMap, RgbaImage } from "./types.ts";

/** Options for {@linkcode renderHeatmap}. */
export interface HeatmapOptions {
  /** Opacity of the colour layer in [0, 1]. Default 0.6. */
  opacity?: number;
}

/**
 * Lays the coloured map (values in [0, 1], clamped) over the image with the "over" operator:
 * the colour layer has alpha `opacity`, the image keeps its own alpha under it.
 *
 * @example
 * ```ts
 * import { createImage, renderHeatmap } from "@editmgt/editmgt/image";
 * const image = createImage({ width: 64, height: 48 }, [128, 128, 128, 255]);
 * const map = { width: 2, height: 2, data: new Float32Array([0, 1, 0.5, 0]) };
 * const overlay = renderHeatmap(image, map, { opacity: 0.5 });
 * console.log(overlay.width, overlay.height); // 64 48
 * ```
 */
export function renderHeatmap(
  image: RgbaImage,
  map: FloatMap,
  options: HeatmapOptions = {},
): RgbaImage {
  const opacity = checkedOption("opacity", options.opacity ?? 0.6, 0, 1);
  assertCells("the localization map", map);
  const values = resizeMap(map, image).data;
  const data = new Uint8ClampedArray(image.data.length);
  for (let p = 0; p < values.length; p++) {
    const i = p * 4;
    const colour = viridis(values[p]);
    const below = image.data[i + 3] / 255 * (1 - opacity);
    const alpha = opacity + below;
    for (let c = 0; c < 3; c++) {
      data[i + c] = alpha > 0
        ? Math.round((colour[c] * opacity + image.data[i + c] * below) / alpha)
        : 0;
    }
    data[i + 3] = Math.round(alpha * 255);
  }
  return { width: image.width, height: image.height, data };
}
