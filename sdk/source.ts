/**
 * The file source the engine reads model files through when the SDK has downloaded them: the
 * SDK's storage first (found by the file's manifest sha256), the network only for a file that is
 * not stored (evicted since the download). The engine verifies every file's sha256 after reading
 * it, whichever way it came.
 *
 * @module
 */

import { fetchSource, type FileRequest, type FileSource } from "../src/model/source.ts";
import {
  DEFAULT_CACHE_NAME,
  type EntryStore,
  openStore,
  readFile,
  type StorageKind,
} from "./store.ts";

/**
 * A {@linkcode FileSource} over the SDK's storage named `name` (the OPFS, else Cache Storage;
 * `kind` picks one).
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
export function cachedSource(name: string = DEFAULT_CACHE_NAME, kind?: StorageKind): FileSource {
  let store: Promise<EntryStore | null> | null = null;
  return async (request: FileRequest): Promise<Uint8Array> => {
    store ??= openStore(name, kind);
    const opened = await store;
    const { sha256, bytes } = request;
    const blob = opened === null || sha256 === undefined || bytes === undefined
      ? undefined
      : await readFile(opened, { sha256, bytes });
    if (blob === undefined) return await fetchSource(request);
    const data = await blobBytes(blob);
    request.onProgress?.(data.byteLength);
    return data;
  };
}

/**
 * The bytes of a stored file, streamed from its parts into one buffer. Chromium's `ArrayBuffer`
 * stops near 2 GiB; above that the buffer is a `WebAssembly.Memory` (up to 4 GiB), as
 * onnxruntime-web does for large external data.
 */
export async function blobBytes(blob: Blob): Promise<Uint8Array> {
  let buffer: ArrayBuffer;
  try {
    buffer = new ArrayBuffer(blob.size);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const pages = Math.ceil(blob.size / 65536);
    buffer = new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer as ArrayBuffer;
  }
  const bytes = new Uint8Array(buffer, 0, blob.size);
  let offset = 0;
  for await (const chunk of blob.stream()) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
