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
 *   createImage,
 *   decodeImage,
 *   encodeImage,
 *   imageToTensor,
 *   resizeImage,
 *   tensorToImage,
 * } from "@editmgt/editmgt/image";
 *
 * const input = await encodeImage(createImage({ width: 300, height: 200 }, [90, 140, 200, 255]));
 * const original = await decodeImage(input); // header checked, EXIF orientation applied
 * const pixels = imageToTensor(resizeImage(original, { width: 64, height: 64 })); // [1, 3, 64, 64]
 * // ... VQ-encode `pixels`, sample, VQ-decode; here the "model output" is the input itself:
 * const edited = tensorToImage(pixels, { width: 64, height: 64 });
 * const keep = { width: 16, height: 16, data: new Uint8Array(256).fill(1) }; // nothing edited
 * const output = compositePreserved(original, edited, keep);
 * console.log(output.data.every((byte, i) => byte === original.data[i])); // true
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
export * from "./fit.ts";
export * from "./colormap.ts";
export * from "./heatmap.ts";
