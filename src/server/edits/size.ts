/**
 * Output sizes written as `WIDTHxHEIGHT` (OpenAI's `size`, the result route's `?size=`).
 *
 * @module
 */

import { EditMGTError } from "../../errors/mod.ts";
import type { Size } from "../../image/types.ts";
import { clip } from "../errors.ts";

/**
 * The size `WIDTHxHEIGHT` names, undefined for an absent value or `"auto"` (keep the source's
 * size). Throws `invalid_option` for anything else or a side outside [1, `maxSide`].
 *
 * @example
 * ```ts
 * import { parseSize } from "./size.ts";
 *
 * console.log(parseSize("512x256", 4096)); // { width: 512, height: 256 }
 * console.log(parseSize("auto", 4096)); // undefined
 * ```
 */
export function parseSize(value: string | undefined, maxSide: number): Size | undefined {
  if (value === undefined || value === "" || value === "auto") return undefined;
  const match = value.match(/^(\d{1,5})x(\d{1,5})$/);
  const [width, height] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (width < 1 || height < 1 || width > maxSide || height > maxSide) {
    throw new EditMGTError(
      "invalid_option",
      `size must be "auto" or WIDTHxHEIGHT with sides in [1, ${maxSide}], got "${clip(value)}"`,
      { details: { option: "size" } },
    );
  }
  return { width, height };
}
