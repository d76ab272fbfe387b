/**
 * Reading a model's `manifest.json`: where it is, whether this library understands its format,
 * and whether it follows the shared schema.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import { type Manifest, MANIFEST_FORMAT, ManifestSchema } from "../schema/manifest.ts";
import { parseWith } from "../schema/parse.ts";

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

/**
 * The URL of a model's manifest. `location` is a URL or a path, of either the manifest itself
 * (ends in `.json`) or of the model folder; a relative path resolves against `base`, by default
 * {@linkcode modelBase} (the page in a browser, the working directory in Deno and Node.js).
 *
 * @example
 * ```ts
 * import { manifestUrl } from "@editmgt/editmgt/model";
 *
 * manifestUrl("models/tiny", "https://example.com/app/").href;
 * // "https://example.com/app/models/tiny/manifest.json"
 * manifestUrl("models/tiny/").href; // in Deno: "file:///<working directory>/models/tiny/manifest.json"
 * ```
 */
export function manifestUrl(location: string | URL, base?: string | URL): URL {
  const resolveAgainst = URL.canParse(location) ? undefined : base ?? modelBase();
  let url: URL;
  try {
    url = new URL(location, resolveAgainst);
  } catch (cause) {
    throw new EditMGTError(
      "invalid_option",
      `model location "${location}" is not a URL, and there is no page or working directory ` +
        "to resolve a path against; pass a URL (or a base)",
      { cause, details: { location: String(location) } },
    );
  }
  if (url.pathname.endsWith(".json")) return url;
  const folder = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
  return new URL(`${folder}manifest.json${url.search}`, url);
}

/**
 * The base that relative model paths resolve against: the page's URL in a browser, the working
 * directory in Deno or Node.js (looked up on the global object, so browser bundles can hold this).
 */
export function modelBase(): URL | undefined {
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  if (page) return new URL(page);
  const cwd = (globalThis as { Deno?: { cwd(): string } }).Deno?.cwd() ??
    (globalThis as { process?: { cwd(): string } }).process?.cwd();
  return cwd === undefined ? undefined : directoryUrl(cwd);
}

/** A `file:` URL of a directory path, with every character that URLs reserve escaped. */
function directoryUrl(path: string): URL {
  const segments = path.split("/").map(encodeURIComponent).join("/");
  return new URL(`file://${segments.endsWith("/") ? segments : `${segments}/`}`);
}
