/**
 * The check that keeps a zod schema and the interface documenting it the same type: the zod
 * schemas are the definition, and the interfaces beside them their documented TypeScript face
 * (JSR needs explicit types in a public API, so `z.infer` cannot be exported).
 *
 * @module
 */

import type { z } from "zod";
import type { Schema } from "./schema.ts";

/** `true` when `A` and `B` are the same type (every field, its optionality and its type). */
type Same<A, B> = (<V>() => V extends A ? 1 : 2) extends (<V>() => V extends B ? 1 : 2) ? true
  : false;

/**
 * `schema` as a {@linkcode Schema} of `T`; a compile error (in `deno check`) unless its output
 * type is exactly `T`, in every field and in both directions. Call it with both type arguments:
 * `exactSchema<T, typeof schema>(schema)`.
 */
export function exactSchema<T, S extends z.ZodType>(
  schema: Same<z.output<S>, T> extends true ? S : "the zod schema's output type is not T",
): Schema<T> {
  return schema as unknown as Schema<T>;
}
