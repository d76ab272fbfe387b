/**
 * The Deno-only part of model loading: local folders and paths relative to the working
 * directory, and the native `"node"` device (onnxruntime-node). `file:` URLs are read with
 * `Deno.readFile`; every other URL goes through {@linkcode fetchSource}. Browser code never
 * imports this file (a separate entry, `@editmgt/editmgt/model/deno`); everything else about
 * loading (manifest, progress, verification, the WASM and WebGPU backends) is shared with it.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { EditMGTError } from "../errors/mod.ts";
import type { Backend, DeviceName } from "./backend.ts";
import { type BackendOptions, createBackend as createWebBackend } from "./select.ts";
import { type ModelPackage, type ModelPackageOptions, openModelPackage } from "./package.ts";
import { abortedError, fetchSource, type FileRequest, missingFileError } from "./source.ts";

// The types these functions take and return, so that this entry documents itself alone.
export type * from "./mod.ts";

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

/**
 * Creates the backend for `device`, the native `"node"` device (onnxruntime-node on the CPU)
 * included; `"wasm"` and `"webgpu"` as `createBackend` of `@editmgt/editmgt/model`. Rejects
 * with `backend_unavailable` when Deno runs without `--allow-ffi` (onnxruntime-node is native
 * code), saying which flag to add.
 *
 * @example
 * ```ts
 * import { createBackend } from "@editmgt/editmgt/model/deno";
 *
 * const backend = await createBackend("node", { threads: 2 });
 * console.log(backend.device); // "node"
 * ```
 */
export async function createBackend(
  device: DeviceName,
  options: BackendOptions = {},
): Promise<Backend> {
  if (device !== "node") return await createWebBackend(device, options);
  try {
    return (await import("./backends/node.ts")).createNodeBackend(options);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable || cause instanceof Deno.errors.PermissionDenied) {
      throw new EditMGTError(
        "backend_unavailable",
        'the "node" device loads onnxruntime-node, native code that Deno runs only with ' +
          "--allow-ffi (and --allow-read, --allow-env, --allow-sys): add those flags, or use " +
          `the "wasm" device (${cause.message})`,
        { cause, details: { device, flag: "--allow-ffi" } },
      );
    }
    throw cause;
  }
}
