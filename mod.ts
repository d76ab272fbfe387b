/**
 * EditMGT for the web: instruction-based image editing with a masked generative transformer
 * (EditMGT), in TypeScript. This entry point holds the pure core: the one MaskGIT sampler with
 * region hold, the localization maps it uses, the shared schemas and the typed error family.
 *
 * @example
 * ```ts
 * import { EditMGTError, maskLength, maskRatio } from "@editmgt/editmgt";
 *
 * console.log(maskLength(4096, 1, maskRatio("cosine", 0, 36), 4096)); // 4092
 * console.log(new EditMGTError("invalid_option", "steps must be >= 1").status); // 400
 * ```
 *
 * @module
 */

export * from "./src/errors/mod.ts";
export * from "./src/localize/mod.ts";
export * from "./src/sampler/mod.ts";
export * from "./src/schema/mod.ts";
