/**
 * Downloading a model's files into Cache Storage: one overall byte progress from the sizes in
 * the manifest, sha256 verified before a file is stored, never storing error or HTML answers,
 * resuming interrupted downloads with Range requests, cancellable with an AbortSignal. Files
 * already stored with the manifest's sha256 are not requested at all.
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";
import type { PackageFile } from "../src/model/package.ts";
import { verifyFile } from "../src/model/verify.ts";
import type { DownloadProgress } from "../src/pipeline/types.ts";
import { deleteParts, matchFile, putFile, putPart, readParts, type StoredPart } from "./store.ts";

/** Options for {@linkcode downloadModelFiles}. */
export interface DownloadOptions {
  /** Cancels the download; what arrived so far is kept for a Range resume. */
  signal?: AbortSignal;
  /** Receives the overall progress in bytes over every file. */
  onProgress?: (event: DownloadProgress) => void;
  /**
   * Bytes received before they are stored as a part of the file, so that a download
   * interrupted without warning (a closed tab) resumes from there. Default 8 MiB.
   */
  checkpointBytes?: number;
}

const DEFAULT_CHECKPOINT_BYTES = 8 * 1024 * 1024;

/**
 * Makes sure every file in `files` is stored in `cache` with its manifest sha256, downloading
 * what is missing. Files are fetched one after the other.
 *
 * @throws {EditMGTError} `not_found` (404), `download_failed` (network error, HTTP error, HTML
 * answer), `hash_mismatch` (size or sha256 differ after a fresh download), `aborted`.
 */
export async function downloadModelFiles(
  cache: Cache,
  files: readonly PackageFile[],
  options: DownloadOptions = {},
): Promise<void> {
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  const loadedPerFile = new Map<string, number>();
  let loaded = 0;
  const report = (file: PackageFile, fileLoaded: number) => {
    loaded += fileLoaded - (loadedPerFile.get(file.url.href) ?? 0);
    loadedPerFile.set(file.url.href, fileLoaded);
    options.onProgress?.({ type: "download", loaded, total, file: file.path });
  };
  for (const file of files) {
    if (await matchFile(cache, file.url, file)) {
      report(file, file.bytes);
      continue;
    }
    await downloadFile(cache, file, {
      signal: options.signal,
      checkpointBytes: options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES,
      onProgress: (fileLoaded) => report(file, fileLoaded),
    });
  }
}

interface FileDownloadOptions {
  signal?: AbortSignal;
  checkpointBytes: number;
  onProgress: (loaded: number) => void;
}

/**
 * Downloads one file, resuming from its stored parts. A resumed file whose hash does not match
 * is downloaded once more from the start (the parts may come from an older version of it).
 */
async function downloadFile(
  cache: Cache,
  file: PackageFile,
  options: FileDownloadOptions,
): Promise<void> {
  for (let attempt = 0;; attempt++) {
    const parts = await readParts(cache, file.url);
    const blob = await fetchRest(cache, file, parts, options);
    try {
      await verifyFile(file.url, new Uint8Array(await blob.arrayBuffer()), file);
    } catch (error) {
      await deleteParts(cache, file.url);
      if (parts.length > 0 && attempt === 0) continue;
      throw error;
    }
    await putFile(cache, file.url, blob, file.sha256);
    await deleteParts(cache, file.url);
    return;
  }
}

/** Fetches what `parts` lack of `file` and returns the whole file. */
async function fetchRest(
  cache: Cache,
  file: PackageFile,
  parts: readonly StoredPart[],
  options: FileDownloadOptions,
): Promise<Blob> {
  let offset = parts.reduce((sum, part) => sum + part.blob.size, 0);
  if (offset >= file.bytes) {
    await deleteParts(cache, file.url);
    parts = [];
    offset = 0;
  }
  const etag = parts.at(-1)?.etag ?? null;
  const response = await request(file.url, offset, etag, options.signal);
  if (response.status === 416 || (response.status === 200 && offset > 0)) {
    // The server cannot resume (or the file changed): start over.
    await deleteParts(cache, file.url);
    if (response.status === 416) {
      await response.body?.cancel();
      return await fetchRest(cache, file, [], options);
    }
    parts = [];
    offset = 0;
  }
  if (response.status === 206) checkContentRange(file, response, offset);
  const receiver = new PartReceiver(cache, file, parts, offset, response.headers.get("etag"));
  options.onProgress(offset);
  await receiver.read(response.body!, options);
  return receiver.whole();
}

/** Issues the GET (with Range and If-Range when resuming) and refuses unusable answers. */
async function request(
  url: URL,
  offset: number,
  etag: string | null,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (etag !== null && !etag.startsWith("W/")) headers["if-range"] = etag;
  }
  let response: Response;
  try {
    // The SDK is the cache: keep the browser's HTTP cache out of it.
    response = await fetch(url, { headers, signal, cache: "no-store" });
  } catch (cause) {
    if (signal?.aborted) throw abortedError(url, signal);
    throw new EditMGTError(
      "download_failed",
      `could not download ${url.href}: ${
        cause instanceof Error ? cause.message : cause
      }; check the connection and retry`,
      { cause, details: { url: url.href } },
    );
  }
  if (response.status === 416) return response;
  if (response.status === 404) {
    await response.body?.cancel();
    throw new EditMGTError(
      "not_found",
      `model file ${url.href} does not exist (HTTP 404); the model package on the server is incomplete`,
      { details: { url: url.href, status: 404 } },
    );
  }
  if ((response.status !== 200 && response.status !== 206) || response.body === null) {
    await response.body?.cancel();
    throw new EditMGTError(
      "download_failed",
      `downloading ${url.href} answered HTTP ${response.status}; retry later or check the model URL`,
      { details: { url: url.href, status: response.status } },
    );
  }
  const type = response.headers.get("content-type") ?? "";
  if (/^text\/html\b/i.test(type)) {
    await response.body.cancel();
    throw new EditMGTError(
      "download_failed",
      `downloading ${url.href} answered an HTML page instead of the model file; check the model URL`,
      { details: { url: url.href, contentType: type } },
    );
  }
  return response;
}

/** Refuses a 206 whose range does not start where the stored parts end. */
function checkContentRange(file: PackageFile, response: Response, offset: number): void {
  const range = response.headers.get("content-range") ?? "";
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim());
  if (match === null || Number(match[1]) !== offset) {
    response.body?.cancel();
    throw new EditMGTError(
      "download_failed",
      `resuming ${file.url.href} at byte ${offset} got Content-Range "${range}"; retry`,
      { details: { url: file.url.href, offset, contentRange: range } },
    );
  }
}

/**
 * Collects a response body after the stored parts, storing a new part every `checkpointBytes`
 * and when the body stops early (abort, network error), so nothing received is lost.
 */
class PartReceiver {
  readonly #cache: Cache;
  readonly #file: PackageFile;
  readonly #parts: Blob[];
  readonly #etag: string | null;
  #stored: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  constructor(
    cache: Cache,
    file: PackageFile,
    parts: readonly StoredPart[],
    offset: number,
    etag: string | null,
  ) {
    this.#cache = cache;
    this.#file = file;
    this.#parts = parts.map((part) => part.blob);
    this.#stored = offset;
    this.#etag = etag;
  }

  async read(body: ReadableStream<Uint8Array>, options: FileDownloadOptions): Promise<void> {
    const reader = body.getReader();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) {
          const received = this.#stored + this.#pendingBytes;
          if (received < this.#file.bytes) throw new Error(`the body ended at byte ${received}`);
          break;
        }
        this.#pending.push(value);
        this.#pendingBytes += value.byteLength;
        const received = this.#stored + this.#pendingBytes;
        if (received > this.#file.bytes) {
          throw new EditMGTError(
            "hash_mismatch",
            `${this.#file.url.href} is larger than the ${this.#file.bytes} bytes the manifest says; the file on the server is from another model version`,
            { details: { url: this.#file.url.href, expectedBytes: this.#file.bytes } },
          );
        }
        options.onProgress(received);
        if (this.#pendingBytes >= options.checkpointBytes) await this.#storePending();
      }
    } catch (cause) {
      await reader.cancel().catch(() => {});
      if (cause instanceof EditMGTError) {
        await deleteParts(this.#cache, this.#file.url);
        throw cause;
      }
      await this.#storePending().catch(() => {});
      if (options.signal?.aborted) throw abortedError(this.#file.url, options.signal);
      throw new EditMGTError(
        "download_failed",
        `the download of ${this.#file.url.href} broke off after ${this.#stored} bytes: ${cause}; retry to resume it`,
        { cause, details: { url: this.#file.url.href, loaded: this.#stored } },
      );
    }
  }

  whole(): Blob {
    return new Blob([...this.#parts, ...(this.#pending as Uint8Array<ArrayBuffer>[])]);
  }

  async #storePending(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const blob = new Blob(this.#pending as Uint8Array<ArrayBuffer>[]);
    await putPart(this.#cache, this.#file.url, this.#parts.length, {
      offset: this.#stored,
      blob,
      etag: this.#etag,
    });
    this.#parts.push(blob);
    this.#stored += blob.size;
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

function abortedError(url: URL, signal: AbortSignal): EditMGTError {
  return new EditMGTError("aborted", `the download of ${url.href} was cancelled`, {
    cause: signal.reason,
    details: { url: url.href },
  });
}
