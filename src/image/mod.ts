/**
 * Images for EditMGT: decode PNG/JPEG/WebP (header checked and EXIF orientation applied),
 * encode PNG/JPEG/WebP, resize, convert to and from the VQ tensors, convert masks between
 * pixels and the token grid, composite the edit over the original pixel-exactly, and render
 * localization heatmaps. Everything except the codecs is a pure function over typed arrays.
 *
 * @example
 * ```ts
 * import {
 *   compositePreserved,
 *   decodeImage,
 *   encodeImage,
 *   imageToTensor,
 *   resizeImage,
 * } from "@editmgt/editmgt/image";
 *
 * const original = await decodeImage(await Deno.readFile("in.jpg"));
 * const pixels = imageToTensor(resizeImage(original, { width: 64, height: 64 }));
 * // ... VQ encode `pixels`, sample, VQ decode to `edited` (64x64) with `keep` on the grid ...
 * // const output = compositePreserved(original, edited, keep);
 * // await Deno.writeFile("out.png", await encodeImage(output));
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./header.ts";
export * from "./exif.ts";
export * from "./codec.ts";
export * from "./resize.ts";
export * from "./tensor.ts";
export * from "./mask.ts";
export * from "./distance.ts";
export * from "./composite.ts";
export * from "./colormap.ts";
export * from "./heatmap.ts";
