/**
 * Reading a model's `manifest.json`: whether this library understands its format, and whether it
 * follows the shared schema (where it is: `location.ts`, re-exported here).
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import { type Manifest, MANIFEST_FORMAT, ManifestSchema } from "../schema/manifest.ts";
import { parseWith } from "../schema/parse.ts";

export { manifestUrl, modelBase } from "./location.ts";

const FORMAT_FAMILY = "editmgt-manifest/";

/**
 * Validates a parsed `manifest.json`. Rejects with `unsupported_format` when the manifest is of
 * another format version than {@linkcode MANIFEST_FORMAT}, and with `invalid_manifest` (listing
 * every issue) when it does not follow the schema.
 *
 * @example
 * ```ts
 * import { parseManifest } from "@editmgt/editmgt/model";
 *
 * const manifest = parseManifest(JSON.parse(await Deno.readTextFile("models/tiny/manifest.json")));
 * console.log(manifest.vq.grid); // { height: 16, width: 16 }
 * ```
 */
export function parseManifest(json: unknown): Manifest {
  const format = (json as { format?: unknown } | null)?.format;
  if (
    typeof format === "string" && format.startsWith(FORMAT_FAMILY) && format !== MANIFEST_FORMAT
  ) {
    throw new EditMGTError(
      "unsupported_format",
      `the model manifest has format "${format}" but this library reads "${MANIFEST_FORMAT}"; use a library version that supports it or a model exported for this one`,
      { details: { format, supported: [MANIFEST_FORMAT] } },
    );
  }
  return parseWith(ManifestSchema, json, "invalid_manifest");
}
