/**
 * The Deno-only part of model loading: local folders and paths relative to the working
 * directory. `file:` URLs are read with `Deno.readFile`; every other URL goes through
 * {@linkcode fetchSource}. Browser code never imports this file; everything else about loading
 * (manifest, progress, verification) is shared with it.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { type ModelPackage, type ModelPackageOptions, openModelPackage } from "./package.ts";
import { abortedError, fetchSource, type FileRequest, missingFileError } from "./source.ts";

/**
 * A {@linkcode FileSource} that reads `file:` URLs from disk and fetches the rest. Needs `--allow-read` for local models and
 * `--allow-net` for remote ones.
 *
 * @example
 * ```ts
 * import { denoSource } from "@editmgt/editmgt/model/deno";
 *
 * const bytes = await denoSource({ url: new URL("file:///models/tiny/manifest.json") });
 * ```
 */
export async function denoSource(request: FileRequest): Promise<Uint8Array> {
  if (request.url.protocol !== "file:") return await fetchSource(request);
  try {
    const bytes = await Deno.readFile(request.url, { signal: request.signal });
    request.onProgress?.(bytes.byteLength);
    return bytes;
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) throw missingFileError(request.url, cause);
    if (request.signal?.aborted) throw abortedError(request.url, cause);
    throw cause;
  }
}

/** The current working directory as a folder URL, the base for relative local paths. */
export function workingDirectoryUrl(): URL {
  return pathToFileURL(`${Deno.cwd()}/`);
}

/**
 * Opens a model package from a local folder or `manifest.json` path (relative to the working
 * directory) or from a URL, reading local files with `Deno.readFile`.
 *
 * @example
 * ```ts
 * import { openLocalModelPackage } from "@editmgt/editmgt/model/deno";
 *
 * const model = await openLocalModelPackage("models/editmgt-tiny");
 * console.log(model.manifest.id, model.totalBytes);
 * ```
 */
export function openLocalModelPackage(
  location: string | URL,
  options: Omit<ModelPackageOptions, "source" | "base"> = {},
): Promise<ModelPackage> {
  return openModelPackage(location, {
    ...options,
    source: denoSource,
    base: workingDirectoryUrl(),
  });
}
