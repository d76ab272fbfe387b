/**
 * The options of one edit after validation, with the model manifest's defaults filled in.
 *
 * @module
 */

import type { Manifest } from "../schema/manifest.ts";
import { type EditOptions, EditOptionsSchema } from "../schema/options.ts";
import { parseWith } from "../schema/parse.ts";
import { randomSeed } from "../sampler/rng.ts";

/** Every knob of an edit, resolved. */
export interface ResolvedEditOptions {
  /** Decoding steps. */
  steps: number;
  /** Classifier-free guidance scale. */
  guidance: number;
  /** Attention-injection strength. */
  gamma: number;
  /** Region-hold threshold or "auto". */
  lambda: number | "auto";
  /** Gumbel temperature. */
  temperature: number | readonly [number, number];
  /** Mask schedule. */
  schedule: "cosine" | "linear";
  /** Seed (drawn when not given). */
  seed: number;
  /** Negative prompt. */
  negativePrompt: string;
  /** Text rows of the localization map. */
  rows: "keywords" | "all";
  /** Phrase to localize on, if any. */
  focus: string | undefined;
  /** Where the localization map comes from. */
  mapSource: "change" | "attention";
  /** How held tokens meet the mask schedule. */
  heldTokens: "fixed" | "scheduled";
  /** Paste kept regions from the original pixels. */
  composite: boolean;
  /** How the image goes into the model's square. */
  fit: "squash" | "pad";
  /** Decode a preview every this many steps; 0 for none. */
  previewEvery: number;
}

/**
 * Validates `options` against the shared `EditOptionsSchema` and fills the gaps
 * from the manifest's `defaults`: keyword rows, the change map with held tokens fixed, composite
 * on, `fit: "squash"`, no previews, a fresh random seed.
 *
 * @throws {EditMGTError} `invalid_option`, listing every bad option.
 *
 * @example
 * ```ts
 * import { resolveEditOptions } from "@editmgt/editmgt/pipeline";
 * import { parseManifest } from "@editmgt/editmgt/model";
 *
 * const manifest = parseManifest(JSON.parse(await Deno.readTextFile("models/editmgt-tiny/manifest.json")));
 * const options = resolveEditOptions(manifest, { steps: 8, seed: 1 });
 * console.log(options.steps, options.lambda); // 8, the model's default lambda
 * ```
 */
export function resolveEditOptions(
  manifest: Manifest,
  options: EditOptions = {},
): ResolvedEditOptions {
  const parsed = parseWith(EditOptionsSchema, options, "invalid_option");
  const defaults = manifest.defaults;
  return {
    steps: parsed.steps ?? defaults.steps,
    guidance: parsed.guidance ?? defaults.guidance,
    gamma: parsed.gamma ?? defaults.gamma,
    lambda: parsed.lambda ?? defaults.lambda,
    temperature: parsed.temperature ?? defaults.temperature,
    schedule: parsed.schedule ?? defaults.schedule,
    seed: parsed.seed ?? randomSeed(),
    negativePrompt: parsed.negativePrompt ?? defaults.negativePrompt,
    rows: parsed.rows ?? "keywords",
    focus: parsed.focus,
    mapSource: parsed.mapSource ?? "change",
    heldTokens: parsed.heldTokens ?? "fixed",
    composite: parsed.composite ?? true,
    fit: parsed.fit ?? "squash",
    previewEvery: parsed.previewEvery ?? 0,
  };
}
