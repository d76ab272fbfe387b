import { z } from "zod";
import { MAX_STEPS } from "../sampler/options.ts";
import type { Schema } from "./schema.ts";

/** Most decoding steps a request may ask for: the sampler's own limit, `MAX_STEPS`. */
export const MAX_REQUEST_STEPS: number = MAX_STEPS;
/** Longest instruction or negative prompt, in characters (as typed: see {@linkcode promptLength}). */
export const MAX_PROMPT_CHARS = 2000;

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

/**
 * The length of a prompt as its writer sees it: user-perceived characters (grapheme clusters),
 * so an emoji counts once, not as its two or more UTF-16 code units.
 *
 * @example
 * ```ts
 * import { promptLength } from "@editmgt/editmgt/schema";
 *
 * console.log(promptLength("make it 🔵"), "make it 🔵".length); // 9 10
 * ```
 */
export function promptLength(text: string): number {
  let count = 0;
  for (const _ of graphemes.segment(text)) count++;
  return count;
}

/**
 * Whether a prompt has nothing to read: only white space, control characters (NUL...) and
 * invisible format characters (zero-width space, joiners, BOM).
 *
 * @example
 * ```ts
 * import { isBlankPrompt } from "@editmgt/editmgt/schema";
 *
 * console.log(isBlankPrompt("\0\u200b "), isBlankPrompt("a\u200b")); // true false
 * ```
 */
export function isBlankPrompt(text: string): boolean {
  return !/[^\s\p{Cc}\p{Cf}]/u.test(text);
}
/** Most steps between two previews: an edit has at most {@linkcode MAX_REQUEST_STEPS} steps. */
export const MAX_PREVIEW_EVERY: number = MAX_REQUEST_STEPS;

/** Options of one edit; every field optional (the manifest's defaults fill the gaps). */
export interface EditOptions {
  /** Decoding steps, 1 to {@linkcode MAX_REQUEST_STEPS}. */
  steps?: number;
  /** Classifier-free guidance scale in [0, 100]. */
  guidance?: number;
  /** Attention-injection strength in (0, 100]; 1 is neutral, > 1 holds closer to the source. */
  gamma?: number;
  /** Region-hold threshold in [0, 1] (0 holds nothing, 1 keeps the source), or "auto". */
  lambda?: number | "auto";
  /** Gumbel temperature: `[first, last]` or a scalar T meaning `[T, 0.01]`. */
  temperature?: number | [number, number];
  /** Mask schedule. */
  schedule?: "cosine" | "linear";
  /** Random seed, a non-negative safe integer. */
  seed?: number;
  /** Text of the unconditional half of classifier-free guidance. */
  negativePrompt?: string;
  /** Text rows of the localization map: the instruction's keywords, or "all" as upstream. */
  rows?: "keywords" | "all";
  /** A phrase of the instruction to localize on. */
  focus?: string;
  /**
   * Where the localization map comes from: "change" (default: the step graph's `ref_logprob` at
   * the first step, the tokens the model means to redraw) or "attention" (upstream's
   * text-to-image attention; `rows` and `focus` apply to it only).
   */
  mapSource?: "change" | "attention";
  /**
   * How held tokens meet the mask schedule: "fixed" (default: held tokens are known at once and
   * every step unmasks its share of the free tokens) or "scheduled" (upstream: held tokens use
   * up the tokens a step unmasks).
   */
  heldTokens?: "fixed" | "scheduled";
  /** Paste untouched regions from the original pixels (default true). */
  composite?: boolean;
  /**
   * How an image that is not square goes into the model's square resolution: `"squash"` (the
   * default, as upstream) stretches it and stretches the output back; `"pad"` keeps its aspect
   * ratio, pads it with its replicated edges, holds the padding's tokens and crops it away.
   */
  fit?: "squash" | "pad";
  /**
   * Decode a preview image every this many steps, 0 to {@linkcode MAX_PREVIEW_EVERY} (0 or
   * absent: no previews). Previews go with the step progress events.
   */
  previewEvery?: number;
}

/** The one message for every way `previewEvery` can be wrong, with the value that was given. */
const previewEveryError = (issue: { input?: unknown }) =>
  `must be an integer in [0, ${MAX_PREVIEW_EVERY}] (0 = no previews), got ${
    JSON.stringify(issue.input)
  }`;

const editOptions = z.strictObject({
  steps: z.int().min(1).max(MAX_REQUEST_STEPS).optional().describe("decoding steps"),
  guidance: z.number().min(0).max(100).optional().describe("classifier-free guidance scale"),
  gamma: z.number().positive().max(100).optional().describe(
    "attention-injection strength; 1 is neutral, > 1 holds closer to the source",
  ),
  lambda: z.union([z.number().min(0).max(1), z.literal("auto")]).optional().describe(
    'region-hold threshold: 0 holds nothing, 1 keeps the source, "auto" picks one per image',
  ),
  temperature: z.union([
    z.number().min(0).max(100),
    z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]),
  ]).optional().describe("Gumbel temperature: [first, last] or a scalar T meaning [T, 0.01]"),
  schedule: z.enum(["cosine", "linear"]).optional().describe("mask schedule"),
  seed: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe(
    "random seed; the same seed on the same backend gives the same image",
  ),
  negativePrompt: z.string().max(MAX_PROMPT_CHARS).optional().describe(
    "text of the unconditional half of classifier-free guidance",
  ),
  rows: z.enum(["keywords", "all"]).optional().describe(
    'text rows of the localization map: the instruction\'s keywords, or "all" as upstream',
  ),
  focus: z.string().min(1).max(MAX_PROMPT_CHARS).optional().describe(
    "a phrase of the instruction to localize on",
  ),
  mapSource: z.enum(["change", "attention"]).optional().describe(
    'localization map: "change" (the first step\'s ref_logprob, default) or "attention" (upstream)',
  ),
  heldTokens: z.enum(["fixed", "scheduled"]).optional().describe(
    'held tokens: "fixed" (known at once, default) or "scheduled" (upstream: they use up the step\'s unmasking)',
  ),
  composite: z.boolean().optional().describe(
    "paste untouched regions from the original pixels (default true)",
  ),
  fit: z.enum(["squash", "pad"]).optional().describe(
    'how a non-square image goes into the model\'s square: "squash" stretches it (default, as upstream); "pad" keeps its aspect ratio, pads it and crops the padding away',
  ),
  previewEvery: z.int({ error: previewEveryError })
    .min(0, { error: previewEveryError })
    .max(MAX_PREVIEW_EVERY, { error: previewEveryError })
    .optional()
    .describe("decode a preview image every k steps (with the step events); 0 = none"),
});

/**
 * Schema of {@linkcode EditOptions}: the sampler and localization knobs a caller may set for one edit, shared by the SDK, the
 * server's request parsing and the OpenAPI document. Every field is optional: the model
 * manifest's `defaults` fill the gaps.
 */
export const EditOptionsSchema: Schema<EditOptions> = editOptions;

/** The JSON part of an edit request: which model, what to do, how. */
export interface EditRequest {
  /** Model id; the server's default model when absent. */
  model?: string;
  /** What to change (trimmed, non-empty). */
  instruction: string;
  /** How. */
  options?: EditOptions;
}

const editRequest = z.strictObject({
  model: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).optional().describe(
    "model id; the server's default model when absent",
  ),
  instruction: z.string().trim()
    .refine((text) => !isBlankPrompt(text), "the instruction is empty; say what to change")
    .refine(
      (text) => promptLength(text) <= MAX_PROMPT_CHARS,
      `the instruction has more than ${MAX_PROMPT_CHARS} characters`,
    )
    .describe("what to change"),
  options: editOptions.optional(),
});

/** Schema of {@linkcode EditRequest}; the image travels beside it. */
export const EditRequestSchema: Schema<EditRequest> = editRequest;

/** JSON Schema (draft 2020-12) of {@linkcode EditOptions}, for OpenAPI documents. */
export function editOptionsJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(editOptions, { target: "draft-2020-12", unrepresentable: "throw" });
}

/** JSON Schema (draft 2020-12) of {@linkcode EditRequest}, for OpenAPI documents. */
export function editRequestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(editRequest, { target: "draft-2020-12", unrepresentable: "throw" });
}
