/**
 * How model files live in Cache Storage. One cache (by default "editmgt-models") holds:
 *
 * - each complete, verified file under its own URL, with its sha256 in `x-editmgt-sha256`;
 * - the validated `manifest.json` of each model under the manifest's URL;
 * - the parts of an interrupted download under `<file url>?editmgt-part=<n>` (n = 0, 1, ...),
 *   each with its byte offset in `x-editmgt-offset` and the server's ETag in `x-editmgt-etag`,
 *   so a later download asks only for the rest with a Range request.
 *
 * Parts are numbered rather than listed because `Cache.keys()` is missing in some runtimes (Deno).
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";

/** The Cache Storage name the SDK uses unless told otherwise. */
export const DEFAULT_CACHE_NAME = "editmgt-models";

const SHA256_HEADER = "x-editmgt-sha256";
const OFFSET_HEADER = "x-editmgt-offset";
const ETAG_HEADER = "x-editmgt-etag";
const PART_PARAM = "editmgt-part";

/** `details.reason` of the error for a store that is full. */
export const QUOTA_EXCEEDED = "quota_exceeded";

/** A stored part of an interrupted download. */
export interface StoredPart {
  /** Byte offset of the part in the file. */
  offset: number;
  /** The part's bytes. */
  blob: Blob;
  /** The server's ETag for the file when the part was fetched, if it sent one. */
  etag: string | null;
}

/** Whether this runtime has Cache Storage (browsers in secure contexts, workers, Deno). */
export function hasCacheStorage(): boolean {
  return typeof globalThis.caches?.open === "function";
}

/** The stored copy of `url` if its recorded sha256 is `sha256` and its size is `bytes`. */
export async function matchFile(
  cache: Cache,
  url: URL,
  expected: { sha256: string; bytes: number },
): Promise<Response | undefined> {
  const stored = await cache.match(fileKey(url));
  if (stored === undefined) return undefined;
  const sameHash = stored.headers.get(SHA256_HEADER) === expected.sha256.toLowerCase();
  const sameSize = Number(stored.headers.get("content-length")) === expected.bytes;
  if (sameHash && sameSize) return stored;
  await stored.body?.cancel();
  return undefined;
}

/** Stores a complete file whose bytes were verified against `sha256`. */
export async function putFile(cache: Cache, url: URL, blob: Blob, sha256: string): Promise<void> {
  await store(
    cache,
    fileKey(url),
    new Response(blob, {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(blob.size),
        [SHA256_HEADER]: sha256.toLowerCase(),
      },
    }),
  );
}

/** Stores a JSON document (a validated manifest) under `url`. */
export async function putJson(cache: Cache, url: URL, bytes: Uint8Array): Promise<void> {
  await store(
    cache,
    fileKey(url),
    new Response(bytes as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "application/json" },
    }),
  );
}

/** The stored bytes under `url` (a manifest or a file), whatever their hash. */
export async function readStored(cache: Cache, url: URL): Promise<Uint8Array | undefined> {
  const stored = await cache.match(fileKey(url));
  return stored === undefined ? undefined : new Uint8Array(await stored.arrayBuffer());
}

/** The stored parts of an interrupted download of `url`, contiguous from offset 0. */
export async function readParts(cache: Cache, url: URL): Promise<StoredPart[]> {
  const parts: StoredPart[] = [];
  let end = 0;
  for (let index = 0;; index++) {
    const stored = await cache.match(partKey(url, index));
    if (stored === undefined) return parts;
    const offset = Number(stored.headers.get(OFFSET_HEADER));
    const blob = await stored.blob();
    if (offset !== end || blob.size === 0) return parts;
    parts.push({ offset, blob, etag: stored.headers.get(ETAG_HEADER) });
    end += blob.size;
  }
}

/** Stores part number `index` of an interrupted download of `url`. */
export async function putPart(
  cache: Cache,
  url: URL,
  index: number,
  part: StoredPart,
): Promise<void> {
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    [OFFSET_HEADER]: String(part.offset),
  };
  if (part.etag !== null) headers[ETAG_HEADER] = part.etag;
  await store(cache, partKey(url, index), new Response(part.blob, { headers }));
}

/** Deletes the parts of an interrupted download of `url`. */
export async function deleteParts(cache: Cache, url: URL): Promise<void> {
  for (let index = 0; await cache.delete(partKey(url, index)); index++);
}

/** Deletes a stored file (or manifest) and any parts of it; whether the file was there. */
export async function deleteFile(cache: Cache, url: URL): Promise<boolean> {
  const deleted = await cache.delete(fileKey(url));
  await deleteParts(cache, url);
  return deleted;
}

/**
 * `cache.put`, with a full disk or quota turned into a `download_failed` error whose
 * `details.reason` is "quota_exceeded" (the editor then runs without storing the model).
 */
async function store(cache: Cache, key: string, response: Response): Promise<void> {
  try {
    await cache.put(key, response);
  } catch (cause) {
    if (!(cause instanceof DOMException && cause.name === "QuotaExceededError")) throw cause;
    throw new EditMGTError(
      "download_failed",
      "there is not enough storage for the model files (browser quota); free some space, or create the editor with cache: false",
      { cause, details: { reason: QUOTA_EXCEEDED } },
    );
  }
}

/** The key of a complete file: its URL without fragment. */
function fileKey(url: URL): string {
  const key = new URL(url);
  key.hash = "";
  return key.href;
}

function partKey(url: URL, index: number): string {
  const key = new URL(fileKey(url));
  key.searchParams.set(PART_PARAM, String(index));
  return key.href;
}
