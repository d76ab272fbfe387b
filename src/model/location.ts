/**
 * Where a model's `manifest.json` is. Apart from the manifest's schema (and zod), so that code
 * that only locates models (the engine, the browser SDK's first load) does not load it.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";

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
