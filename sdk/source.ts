/**
 * The file source the engine reads model files through when the SDK has downloaded them: Cache
 * Storage first, the network only for a file that is not stored (evicted since the download).
 * The engine verifies every file's sha256 after reading it, whichever way it came.
 *
 * @module
 */

import { fetchSource, type FileRequest, type FileSource } from "../src/model/source.ts";
import { readStored } from "./store.ts";

/**
 * A {@linkcode FileSource} over the Cache Storage cache named `cacheName`.
 *
 * @example
 * ```ts
 * import { EditPipeline } from "@editmgt/editmgt/pipeline";
 * import { cachedSource } from "@editmgt/editmgt/sdk";
 *
 * const pipeline = await EditPipeline.load("/models/editmgt-tiny/", {
 *   device: "wasm",
 *   source: cachedSource("editmgt-models"),
 * });
 * ```
 */
export function cachedSource(cacheName: string): FileSource {
  let cache: Promise<Cache> | null = null;
  return async (request: FileRequest): Promise<Uint8Array> => {
    cache ??= caches.open(cacheName);
    const stored = await readStored(await cache, request.url);
    if (stored === undefined) return await fetchSource(request);
    request.onProgress?.(stored.byteLength);
    return stored;
  };
}
