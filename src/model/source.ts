/**
 * Where model files come from. A {@linkcode FileSource} turns a URL into bytes; the default,
 * {@linkcode fetchSource}, uses `fetch` and so works in browsers, workers and Deno alike. Deno
 * code that reads local folders uses `denoSource` from `deno_source.ts` instead.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";

/** One file to read. */
export interface FileRequest {
  /** Absolute URL of the file. */
  url: URL;
  /** The size the manifest gives, when known; a larger body is refused while it streams. */
  bytes?: number;
  /** The sha256 the manifest gives, when known (a store keyed by content finds the file by it). */
  sha256?: string;
  /** Cancels the read; the source rejects with an `aborted` error. */
  signal?: AbortSignal;
  /** Called as bytes arrive, with the count so far. */
  onProgress?: (loaded: number) => void;
}

/** Reads one file. Rejects with `not_found`, `download_failed`, `hash_mismatch` or `aborted`. */
export type FileSource = (request: FileRequest) => Promise<Uint8Array>;

/**
 * Reads a file with `fetch` (a {@linkcode FileSource}), streaming the body so that progress is
 * reported as it arrives.
 *
 * @example
 * ```ts
 * import { fetchSource } from "@editmgt/editmgt/model";
 *
 * const bytes = await fetchSource({
 *   url: new URL("https://example.com/models/tiny/manifest.json"),
 *   onProgress: (loaded) => console.log(loaded),
 * });
 * ```
 */
export async function fetchSource(request: FileRequest): Promise<Uint8Array> {
  const { url, bytes, signal, onProgress } = request;
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (cause) {
    throw signal?.aborted ? abortedError(url, cause) : new EditMGTError(
      "download_failed",
      `could not fetch ${url.href}: ${cause instanceof Error ? cause.message : cause}`,
      { cause, details: { url: url.href } },
    );
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw missingFileError(url);
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new EditMGTError(
      "download_failed",
      `fetching ${url.href} answered HTTP ${response.status}; check the model URL and retry`,
      { details: { url: url.href, status: response.status } },
    );
  }
  return await readBody(response.body, url, bytes, signal, onProgress);
}

async function readBody(
  body: ReadableStream<Uint8Array>,
  url: URL,
  expectedBytes: number | undefined,
  signal: AbortSignal | undefined,
  onProgress: ((loaded: number) => void) | undefined,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      loaded += value.byteLength;
      if (expectedBytes !== undefined && loaded > expectedBytes) {
        throw sizeMismatchError(url, expectedBytes, `more than ${expectedBytes}`);
      }
      chunks.push(value);
      onProgress?.(loaded);
    }
  } catch (cause) {
    await reader.cancel().catch(() => {});
    if (signal?.aborted) throw abortedError(url, cause);
    if (cause instanceof EditMGTError) throw cause;
    throw new EditMGTError("download_failed", `reading ${url.href} failed: ${cause}`, {
      cause,
      details: { url: url.href },
    });
  }
  return concatBytes(chunks, loaded);
}

/** The `chunks` joined into one array of `length` bytes (the first chunk itself when alone). */
export function concatBytes(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The `not_found` error for a model file that does not exist. */
export function missingFileError(url: URL, cause?: unknown): EditMGTError {
  return new EditMGTError(
    "not_found",
    `model file ${url.href} does not exist; the package is incomplete (download it again)`,
    { cause, details: { url: url.href } },
  );
}

/** The `aborted` error for a read cancelled through its AbortSignal. */
export function abortedError(url: URL, cause?: unknown): EditMGTError {
  return new EditMGTError("aborted", `reading ${url.href} was cancelled`, {
    cause,
    details: { url: url.href },
  });
}

/** The `hash_mismatch` error for a file whose size differs from the manifest's. */
export function sizeMismatchError(
  url: URL,
  expected: number,
  actual: number | string,
): EditMGTError {
  return new EditMGTError(
    "hash_mismatch",
    `${url.href} is ${actual} bytes but the manifest says ${expected}; the file is corrupt or from another model version`,
    { details: { url: url.href, expectedBytes: expected, actualBytes: actual } },
  );
}
