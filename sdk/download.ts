/**
 * Downloading a model's files into browser storage (see `store.ts`), built for files of several
 * gigabytes:
 *
 * - every file streams into fixed-size parts (the manifest's `parts`, else 64 MiB); no buffer
 *   larger than one part is ever made;
 * - each part is verified as it arrives when the manifest gives per-part sha256 (a part that
 *   fails is fetched again, alone, with a closed Range), and the whole file's sha256 is computed
 *   incrementally, its state saved with the parts, so the check survives a reload;
 * - an interrupted download (network error, abort, closed tab) resumes with `Range: bytes=N-`
 *   (a changed strong ETag starts the file over): stored parts are never fetched twice; a server
 *   that ignores Range (200) is read from the start, skipping what is stored;
 * - before the first byte, `navigator.storage.persist()` is asked for and the bytes still needed
 *   are checked against `navigator.storage.estimate()`;
 * - progress as transformers.js users know it: `initiate`, `download` (per file and in total,
 *   with the totals from the manifest) and `done` per file.
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";
import type { PackageFile } from "../src/model/package.ts";
import { concatBytes } from "../src/model/source.ts";
import { sha256Hex } from "../src/model/verify.ts";
import type { DownloadProgress } from "../src/pipeline/types.ts";
import { storageEstimate } from "./dom.ts";
import { Sha256, type Sha256State } from "./sha256.ts";
import {
  deleteFile,
  type EntryStore,
  type FileRecord,
  partEntry,
  partSize,
  QUOTA_EXCEEDED,
  readFile,
  readRecord,
  writeRecord,
} from "./store.ts";

/** The part size of files whose manifest entry gives no `parts`. */
export const DEFAULT_PART_BYTES: number = 64 * 1024 * 1024;

/** A file's download starts (or is found complete): its size and what is already stored. */
export interface InitiateProgress {
  /** Event kind. */
  type: "initiate";
  /** The file's path in the manifest. */
  file: string;
  /** The component it belongs to. */
  component: string;
  /** Where it is fetched from. */
  url: string;
  /** The file's size. */
  total: number;
  /** Bytes of it already stored (verified parts of an earlier download). */
  stored: number;
}

/**
 * Bytes arrived: `loaded`/`total` over every file of the load (totals from the manifest),
 * `fileLoaded`/`fileTotal` for `file`. `loaded` goes back by a part's size when that part fails
 * its sha256 (it is fetched again).
 */
export interface ModelDownloadProgress extends DownloadProgress {
  /** The file being downloaded. */
  file: string;
  /** Bytes of `file` stored or arrived. */
  fileLoaded: number;
  /** The size of `file`. */
  fileTotal: number;
  /** Files complete so far. */
  filesDone: number;
  /** Files in the load. */
  fileCount: number;
}

/** A file is stored complete and its sha256 verified. */
export interface FileDoneProgress {
  /** Event kind (an edit's end is a `done` without `file`). */
  type: "done";
  /** The file's path in the manifest. */
  file: string;
  /** The component it belongs to. */
  component: string;
  /** The file's size. */
  total: number;
  /** Files complete so far, this one included. */
  filesDone: number;
  /** Files in the load. */
  fileCount: number;
}

/** The events of {@linkcode downloadModelFiles}, in order per file: initiate, download..., done. */
export type ModelDownloadEvent = InitiateProgress | ModelDownloadProgress | FileDoneProgress;

/** Options for {@linkcode downloadModelFiles}. */
export interface DownloadOptions {
  /** Cancels the download; the stored parts are kept for a resume. */
  signal?: AbortSignal;
  /** Receives {@linkcode ModelDownloadEvent}s. */
  onProgress?: (event: ModelDownloadEvent) => void;
  /** Part size of files whose manifest entry has no `parts` (a multiple of 64); default 64 MiB. */
  partBytes?: number;
}

/** What a download did. */
export interface DownloadReport {
  /** Bytes that were not stored when it started (what the quota was checked against). */
  neededBytes: number;
  /** Bytes received from the network, parts that failed their sha256 included. */
  fetchedBytes: number;
  /** Whether the storage is persistent (`navigator.storage.persist()`); null where unknown. */
  persisted: boolean | null;
}

/**
 * Makes sure every file in `files` is stored complete in `store` with its manifest sha256,
 * downloading what is missing, one file after the other.
 *
 * @example
 * ```ts
 * import { downloadModelFiles } from "./download.ts";
 * import { openStore } from "./store.ts";
 * import { openModelPackage } from "../src/model/package.ts";
 *
 * const model = await openModelPackage("https://example.com/models/editmgt-1024/");
 * const store = (await openStore())!;
 * await downloadModelFiles(store, model.filesFor({ transformer: "q4" }), {
 *   onProgress: (event) => event.type === "download" && console.log(event.loaded, event.total),
 * });
 * ```
 *
 * @throws {EditMGTError} `download_failed` (network error, HTTP error, HTML answer; with
 * `details.reason` "quota_exceeded" and `neededBytes`/`availableBytes` when the storage is too
 * small), `not_found` (404), `hash_mismatch` (a part or the file differs twice), `aborted`.
 */
export async function downloadModelFiles(
  store: EntryStore,
  files: readonly PackageFile[],
  options: DownloadOptions = {},
): Promise<DownloadReport> {
  const tracker = new ProgressTracker(files, options.onProgress);
  const stored = await Promise.all(files.map((file) => storedBytes(store, file)));
  const neededBytes = files.reduce((sum, file, index) => sum + file.bytes - stored[index], 0);
  const report: DownloadReport = { neededBytes, fetchedBytes: 0, persisted: null };
  if (neededBytes > 0) {
    report.persisted = await persistStorage();
    await checkQuota(neededBytes);
  }
  for (const [index, file] of files.entries()) {
    tracker.initiate(file, stored[index]);
    if (stored[index] < file.bytes || await readFile(store, file) === undefined) {
      const download = new FileDownload(store, file, tracker, options);
      try {
        await download.run();
      } finally {
        report.fetchedBytes += download.fetchedBytes;
      }
    }
    tracker.done(file);
  }
  return report;
}

/** Bytes of `file` already stored: all of it when complete, else its stored parts. */
async function storedBytes(store: EntryStore, file: PackageFile): Promise<number> {
  const record = await readRecord(store, file.sha256);
  if (record === undefined || record.bytes !== file.bytes) return 0;
  if (record.complete) return file.bytes;
  return record.parts.reduce(
    (sum, hash, index) => hash === null ? sum : sum + partSize(record, index),
    0,
  );
}

/** Asks for persistent storage (so the browser does not evict gigabytes under pressure). */
async function persistStorage(): Promise<boolean | null> {
  const storage = (globalThis.navigator as {
    storage?: { persist?: () => Promise<boolean> };
  } | undefined)?.storage;
  if (typeof storage?.persist !== "function") return null;
  try {
    return await storage.persist();
  } catch {
    return null;
  }
}

/** Refuses to start a download that the origin's quota cannot hold. */
async function checkQuota(neededBytes: number): Promise<void> {
  const estimate = await storageEstimate();
  if (estimate?.quota === undefined) return;
  const availableBytes = Math.max(0, estimate.quota - (estimate.usage ?? 0));
  if (neededBytes <= availableBytes) return;
  throw new EditMGTError(
    "download_failed",
    `the model needs ${formatBytes(neededBytes)} more storage but this site may use only ${
      formatBytes(availableBytes)
    } more (quota ${formatBytes(estimate.quota)}, used ${
      formatBytes(estimate.usage ?? 0)
    }); free disk space or site data, choose smaller weights (dtype), or create the editor with cache: false`,
    {
      details: {
        reason: QUOTA_EXCEEDED,
        neededBytes,
        availableBytes,
        quotaBytes: estimate.quota,
        usageBytes: estimate.usage ?? 0,
      },
    },
  );
}

function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Per-file and overall byte counts, turned into events. */
class ProgressTracker {
  readonly #emit: ((event: ModelDownloadEvent) => void) | undefined;
  readonly #loaded = new Map<string, number>();
  readonly #total: number;
  readonly #count: number;
  #sum = 0;
  #done = 0;

  constructor(files: readonly PackageFile[], emit?: (event: ModelDownloadEvent) => void) {
    this.#emit = emit;
    this.#total = files.reduce((sum, file) => sum + file.bytes, 0);
    this.#count = files.length;
  }

  initiate(file: PackageFile, stored: number): void {
    const { path, component, url, bytes } = file;
    this.#emit?.({ type: "initiate", file: path, component, url: url.href, total: bytes, stored });
    this.update(file, stored);
  }

  update(file: PackageFile, fileLoaded: number): void {
    this.#sum += fileLoaded - (this.#loaded.get(file.path) ?? 0);
    this.#loaded.set(file.path, fileLoaded);
    this.#emit?.({
      type: "download",
      loaded: this.#sum,
      total: this.#total,
      file: file.path,
      fileLoaded,
      fileTotal: file.bytes,
      filesDone: this.#done,
      fileCount: this.#count,
    });
  }

  done(file: PackageFile): void {
    if (this.#loaded.get(file.path) !== file.bytes) this.update(file, file.bytes);
    this.#done++;
    this.#emit?.({
      type: "done",
      file: file.path,
      component: file.component,
      total: file.bytes,
      filesDone: this.#done,
      fileCount: this.#count,
    });
  }
}

/** The download of one file into parts, resumable, each part verified as it arrives. */
class FileDownload {
  readonly #store: EntryStore;
  readonly #file: PackageFile;
  readonly #tracker: ProgressTracker;
  readonly #options: DownloadOptions;
  readonly #partBytes: number;
  #record!: FileRecord;
  /** The whole-file hash over parts `[0, hashedParts)`, plus the part being fed to it. */
  #hash!: Sha256;
  #hashedParts = 0;
  /** The hash state before the part being fed, to go back to if that part fails. */
  #partStart: Sha256State | null = null;
  /** Failed sha256 checks by part. */
  readonly #failures = new Map<number, number>();
  /** Bytes received from the network. */
  fetchedBytes = 0;

  constructor(
    store: EntryStore,
    file: PackageFile,
    tracker: ProgressTracker,
    options: DownloadOptions,
  ) {
    this.#store = store;
    this.#file = file;
    this.#tracker = tracker;
    this.#options = options;
    this.#partBytes = file.parts?.bytes ?? options.partBytes ?? DEFAULT_PART_BYTES;
    if (!(this.#partBytes > 0 && this.#partBytes % 64 === 0)) {
      throw new EditMGTError(
        "invalid_option",
        `partBytes must be a positive multiple of 64, got ${this.#partBytes}`,
      );
    }
  }

  async run(): Promise<void> {
    await this.#resume();
    let restarted = false;
    while (true) {
      const missing = this.#record.parts.flatMap((hash, index) => hash === null ? [index] : []);
      if (missing.length === 0) {
        if (await this.#wholeFileHash() === this.#file.sha256) {
          this.#record.complete = true;
          await writeRecord(this.#store, this.#record);
          return;
        }
        if (restarted) throw this.#mismatch("the whole file's sha256");
        // Parts of another version of the file (or a server that changed it): start over, once.
        restarted = true;
        await this.#reset();
        continue;
      }
      for (const [first, end] of runsOf(missing)) {
        if (await this.#fetch(first, end) === "changed") {
          if (restarted) throw this.#mismatch("its size or version on the server");
          restarted = true;
          await this.#reset();
          break;
        }
      }
    }
  }

  /** Loads the stored record, dropping parts that went missing from the storage. */
  async #resume(): Promise<void> {
    const record = await readRecord(this.#store, this.#file.sha256);
    if (record === undefined || record.bytes !== this.#file.bytes) return await this.#reset();
    if (record.partBytes !== this.#partBytes) return await this.#reset();
    for (const [index, hash] of record.parts.entries()) {
      if (hash === null) continue;
      const part = await this.#store.get(record.sha256, partEntry(index));
      if (part?.size !== partSize(record, index)) record.parts[index] = null;
    }
    if (record.parts.slice(0, record.hashed.parts).includes(null)) {
      record.hashed = { parts: 0, state: new Sha256().state()! };
    }
    this.#record = record;
    this.#hash = new Sha256(record.hashed.state);
    this.#hashedParts = record.hashed.parts;
    this.#tracker.update(this.#file, this.#storedBytes());
  }

  async #reset(): Promise<void> {
    await deleteFile(this.#store, this.#file.sha256);
    const count = Math.ceil(this.#file.bytes / this.#partBytes);
    this.#record = {
      sha256: this.#file.sha256,
      bytes: this.#file.bytes,
      partBytes: this.#partBytes,
      parts: new Array(count).fill(null),
      hashed: { parts: 0, state: new Sha256().state()! },
      etag: null,
      complete: false,
    };
    this.#hash = new Sha256();
    this.#hashedParts = 0;
    this.#partStart = null;
    this.#tracker.update(this.#file, 0);
  }

  #storedBytes(): number {
    return this.#record.parts.reduce(
      (sum, hash, index) => hash === null ? sum : sum + partSize(this.#record, index),
      0,
    );
  }

  /**
   * Fetches parts `[first, end)` with one Range request and stores those that pass their
   * sha256; "changed" when the file on the server is not the one the stored parts came from
   * (another strong ETag) or not of the manifest's size (416).
   */
  async #fetch(first: number, end: number): Promise<"fetched" | "changed"> {
    const { url, bytes } = this.#file;
    const start = first * this.#partBytes;
    const last = Math.min(end * this.#partBytes, bytes) - 1;
    // Only Range (a CORS-safelisted header): If-Range would need a preflight that many hosts
    // refuse, so a changed file is seen by comparing ETags instead.
    const headers: Record<string, string> = {};
    if (start > 0 || last < bytes - 1) {
      headers.range = last === bytes - 1 ? `bytes=${start}-` : `bytes=${start}-${last}`;
    }
    const response = await request(url, headers, this.#options.signal);
    if (response.status === 416) {
      await response.body?.cancel();
      return "changed";
    }
    const header = response.headers.get("etag");
    const etag = header !== null && !header.startsWith("W/") ? header : null;
    if (this.#storedBytes() > 0 && this.#record.etag !== null && etag !== null) {
      if (etag !== this.#record.etag) {
        await response.body?.cancel();
        return "changed";
      }
    }
    if (this.#storedBytes() === 0) this.#record.etag = etag;
    const offset = response.status === 206 ? start : 0;
    if (response.status === 206) checkContentRange(url, response, start);
    const expectedEnd = response.status === 206 ? last + 1 : bytes;
    await this.#receive(response.body!, offset, expectedEnd);
    return "fetched";
  }

  /**
   * Reads a body that holds bytes `[offset, end)` of the file, storing every wanted part in it;
   * a body that ends before `end` is a broken download.
   */
  async #receive(body: ReadableStream<Uint8Array>, offset: number, end: number): Promise<void> {
    const { signal } = this.#options;
    const reader = body.getReader();
    let position = offset;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const stored = this.#storedBytes();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) {
          if (position < end) throw new Error(`the body ended at byte ${position} of ${end}`);
          break;
        }
        this.fetchedBytes += value.byteLength;
        if (position + value.byteLength > this.#file.bytes) {
          throw this.#mismatch(`its size (more than ${this.#file.bytes} bytes)`);
        }
        let chunk = value;
        while (chunk.byteLength > 0) {
          const index = Math.floor(position / this.#partBytes);
          const partEnd = index * this.#partBytes + partSize(this.#record, index);
          const take = Math.min(partEnd - position, chunk.byteLength);
          const wanted = this.#record.parts[index] === null;
          if (wanted) {
            const piece = chunk.subarray(0, take);
            pending.push(piece);
            pendingBytes += take;
            // The next part of the whole-file hash is hashed as it arrives, spreading the work.
            if (index === this.#hashedParts) {
              this.#partStart ??= this.#hash.state();
              this.#hash.update(piece);
            }
          }
          position += take;
          chunk = chunk.subarray(take);
          if (position === partEnd && wanted) {
            await this.#storePart(index, concatBytes(pending, pendingBytes));
            pending = [];
            pendingBytes = 0;
          }
        }
        this.#tracker.update(this.#file, this.#storedBytes() + pendingBytes);
      }
    } catch (cause) {
      await reader.cancel().catch(() => {});
      this.#rewindHash();
      if (cause instanceof EditMGTError) throw cause;
      if (signal?.aborted) throw abortedError(this.#file.url, signal);
      throw this.#brokenOff(cause, this.#storedBytes() - stored);
    }
  }

  /** Verifies a part that arrived whole and stores it, or counts a failure (it is refetched). */
  async #storePart(index: number, bytes: Uint8Array): Promise<void> {
    const hash = await sha256Hex(bytes);
    const expected = this.#file.parts?.sha256[index];
    if (expected !== undefined && hash !== expected) {
      this.#rewindHash();
      const failures = (this.#failures.get(index) ?? 0) + 1;
      this.#failures.set(index, failures);
      if (failures > 1) throw this.#mismatch(`part ${index} (twice)`);
      return;
    }
    await this.#store.put(this.#record.sha256, partEntry(index), bytes);
    this.#record.parts[index] = hash;
    if (this.#partStart !== null) {
      this.#partStart = null;
      this.#hashed();
    }
    await writeRecord(this.#store, this.#record);
  }

  /** Drops a part fed to the whole-file hash that will not be stored. */
  #rewindHash(): void {
    if (this.#partStart === null) return;
    this.#hash = new Sha256(this.#partStart);
    this.#partStart = null;
  }

  /** Notes that the next part went into the whole-file hash, saving the state in the record. */
  #hashed(): void {
    this.#hashedParts++;
    // A state exists between 64-byte blocks; only the file's last part may end elsewhere.
    const state = this.#hash.state();
    if (state !== null) this.#record.hashed = { parts: this.#hashedParts, state };
  }

  /** The whole file's sha256, reading back only the parts the incremental hash has not seen. */
  async #wholeFileHash(): Promise<string> {
    const { sha256, parts } = this.#record;
    for (let index = this.#hashedParts; index < parts.length; index++) {
      const part = await this.#store.get(sha256, partEntry(index));
      this.#hash.update(new Uint8Array(await part!.arrayBuffer()));
      this.#hashed();
    }
    return this.#hash.hex();
  }

  #mismatch(what: string): EditMGTError {
    const { url, sha256, bytes } = this.#file;
    return new EditMGTError(
      "hash_mismatch",
      `${url.href} does not match the manifest in ${what}; the file on the server is corrupt or from another model version`,
      { details: { url: url.href, expected: sha256, expectedBytes: bytes } },
    );
  }

  #brokenOff(cause: unknown, storedNow: number): EditMGTError {
    const { url } = this.#file;
    return new EditMGTError(
      "download_failed",
      `the download of ${url.href} broke off (${cause}); ${storedNow} more bytes are stored, retry to resume`,
      { cause, details: { url: url.href, stored: this.#storedBytes() } },
    );
  }
}

/** Consecutive runs of part indices, as `[first, end)` pairs. */
function runsOf(indices: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const index of indices) {
    const last = runs.at(-1);
    if (last !== undefined && last[1] === index) last[1]++;
    else runs.push([index, index + 1]);
  }
  return runs;
}

/** Issues the GET and refuses unusable answers (errors, HTML pages). */
async function request(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<Response> {
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
      }; check the connection (and, for a file on another host, that it allows CORS) and retry`,
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

/**
 * Refuses a 206 whose range does not start where it was asked to. A cross-origin host that does
 * not expose `Content-Range` is trusted to answer the one range asked for (the sha256 checks
 * catch it otherwise).
 */
function checkContentRange(url: URL, response: Response, offset: number): void {
  const range = response.headers.get("content-range");
  if (range === null) return;
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim());
  if (match === null || Number(match[1]) !== offset) {
    response.body?.cancel();
    throw new EditMGTError(
      "download_failed",
      `resuming ${url.href} at byte ${offset} got Content-Range "${range}"; retry`,
      { details: { url: url.href, offset, contentRange: range } },
    );
  }
}

function abortedError(url: URL, signal: AbortSignal): EditMGTError {
  return new EditMGTError("aborted", `the download of ${url.href} was cancelled`, {
    cause: signal.reason,
    details: { url: url.href },
  });
}
