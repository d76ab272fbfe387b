/**
 * The names of the manifest format: its version tag, component kinds and weight types. Apart
 * from the zod schema (`manifest.ts`, which re-exports them) and with no import, so that code
 * that only names them (the browser SDK's first load, variant choice) does not load zod.
 *
 * @module
 */

/** Version tag of the manifest format this schema describes. */
export const MANIFEST_FORMAT = "editmgt-manifest/1";

/**
 * Every weight type a component's graph files can have: float32, float16, int8 weight-only
 * (DequantizeLinear of int8 weights into MatMul/Gather) and 4-bit block-quantized MatMul weights
 * (`com.microsoft` `MatMulNBits`). The one list: the type, the schema and the request options
 * derive from it.
 */
export const COMPONENT_DTYPES = ["fp32", "fp16", "int8", "q4"] as const;

/** Weight type of a component's graph files (see {@linkcode COMPONENT_DTYPES}). */
export type ComponentDtype = typeof COMPONENT_DTYPES[number];

/** Kinds of components a model is made of. */
export type ComponentKind =
  | "tokenizer"
  | "text-encoder"
  | "vq-encoder"
  | "vq-decoder"
  | "transformer";

/** Every {@linkcode ComponentKind}. */
export const COMPONENT_KINDS: readonly ComponentKind[] = [
  "tokenizer",
  "text-encoder",
  "vq-encoder",
  "vq-decoder",
  "transformer",
];
