/**
 * Where model files live in the browser: the Origin Private File System when the browser can
 * write it from a page (Chromium, Firefox, recent Safari), else Cache Storage. Both hold the same layout:
 *
 * - a file is stored under its manifest sha256 (content-addressed: the same bytes hosted at two
 *   URLs are stored once), as fixed-size parts `part-0`, `part-1`, ... plus `record.json`, its
 *   {@linkcode FileRecord}: which parts are stored with their own sha256, the incremental
 *   whole-file hash state, the server's ETag, and whether the whole file is verified;
 * - the validated `manifest.json` of each model under `manifests/<sha256 of its URL>`.
 *
 * A part is written whole and then recorded, so a tab closed mid-download loses at most the part
 * in flight. Reading a file back is a `Blob` over its parts (disk-backed in the OPFS): no buffer
 * of the file's size is made until the caller asks for bytes.
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";
import type { Sha256State } from "./sha256.ts";

/** The storage name the SDK uses unless told otherwise (an OPFS folder or a Cache Storage cache). */
export const DEFAULT_CACHE_NAME = "editmgt-models";

/** `details.reason` of the error for a store that is full or too small for the model. */
export const QUOTA_EXCEEDED = "quota_exceeded";

/** Which browser storage holds the files. */
export type StorageKind = "opfs" | "cache";

/** Named entries in folders: the two browser storages behind one small interface. */
export interface EntryStore {
  /** Which storage this is. */
  readonly kind: StorageKind;
  /** The OPFS folder or cache name. */
  readonly name: string;
  /** Writes entry `entry` of folder `folder` (replacing it). */
  put(folder: string, entry: string, bytes: Uint8Array | Blob): Promise<void>;
  /** The entry's bytes, or undefined when it is not stored. */
  get(folder: string, entry: string): Promise<Blob | undefined>;
  /** Deletes `entries` of `folder` (and the folder once empty); whether any was there. */
  remove(folder: string, entries: readonly string[]): Promise<boolean>;
  /** Deletes everything. */
  clear(): Promise<void>;
}

/** The record of one stored (or partly stored) file, kept beside its parts. */
export interface FileRecord {
  /** The file's manifest sha256 (also its folder name). */
  sha256: string;
  /** The file's size. */
  bytes: number;
  /** Size of every part but the last. */
  partBytes: number;
  /** Per part: the sha256 of its stored bytes, or null while it is not stored. */
  parts: (string | null)[];
  /** Whole-file hash state after the first `hashedParts` parts. */
  hashed: { parts: number; state: Sha256State };
  /** The server's strong ETag when the first part was fetched: another one means another file. */
  etag: string | null;
  /** Every part stored and the whole file's sha256 verified. */
  complete: boolean;
}

const RECORD = "record.json";
const MANIFESTS = "manifests";

/** The entry name of part `index`. */
export function partEntry(index: number): string {
  return `part-${index}`;
}

/**
 * Opens the storage named `name`: the OPFS unless `kind` says "cache" or the OPFS is missing
 * (or refused, as in some private windows), else Cache Storage; null when there is neither.
 */
export async function openStore(
  name: string = DEFAULT_CACHE_NAME,
  kind?: StorageKind,
): Promise<EntryStore | null> {
  if (kind !== "cache") {
    const root = await opfsRoot();
    if (root !== null) return opfsStore(root, name);
    if (kind === "opfs") return null;
  }
  return hasCacheStorage() ? cacheStore(await caches.open(name), name) : null;
}

/** Whether this runtime has Cache Storage (browsers in secure contexts, workers, Deno). */
export function hasCacheStorage(): boolean {
  return typeof globalThis.caches?.open === "function";
}

/** The parts of the File System API's handles this module uses (Deno's types lack the DOM's). */
interface DirectoryHandle {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<DirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileHandle>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
}

interface FileHandle {
  getFile(): Promise<File>;
  createWritable(): Promise<{
    write(data: Uint8Array | Blob): Promise<void>;
    close(): Promise<void>;
    abort(): Promise<void>;
  }>;
}

/**
 * The OPFS root, where the browser can write its files from the page (`createWritable`, missing
 * in older Safari, which then uses Cache Storage).
 */
async function opfsRoot(): Promise<DirectoryHandle | null> {
  const storage = (globalThis.navigator as {
    storage?: { getDirectory?: () => Promise<DirectoryHandle> };
  } | undefined)?.storage;
  const fileHandle = (globalThis as { FileSystemFileHandle?: { prototype: object } })
    .FileSystemFileHandle;
  const writable = typeof fileHandle?.prototype === "object" &&
    "createWritable" in fileHandle.prototype;
  if (typeof storage?.getDirectory !== "function" || !writable) return null;
  try {
    return await storage.getDirectory();
  } catch {
    return null;
  }
}

function opfsStore(root: DirectoryHandle, name: string): EntryStore {
  const folderOf = async (folder: string, create: boolean) => {
    try {
      const top = await root.getDirectoryHandle(name, { create });
      return await top.getDirectoryHandle(folder, { create });
    } catch (error) {
      if (!create && error instanceof DOMException && error.name === "NotFoundError") return null;
      throw error;
    }
  };
  return {
    kind: "opfs",
    name,
    async put(folder, entry, bytes) {
      const directory = (await folderOf(folder, true))!;
      const handle = await directory.getFileHandle(entry, { create: true });
      await guardQuota(async () => {
        const writable = await handle.createWritable();
        try {
          await writable.write(bytes);
          await writable.close();
        } catch (error) {
          await writable.abort().catch(() => {});
          throw error;
        }
      });
    },
    async get(folder, entry) {
      const directory = await folderOf(folder, false);
      try {
        return await (await directory?.getFileHandle(entry))?.getFile();
      } catch (error) {
        if (error instanceof DOMException && error.name === "NotFoundError") return undefined;
        throw error;
      }
    },
    async remove(folder, entries) {
      const directory = await folderOf(folder, false);
      if (directory === null) return false;
      let removed = false;
      for (const entry of entries) {
        removed = await directory.removeEntry(entry).then(() => true, () => false) || removed;
      }
      // Fails, and is meant to, while the folder holds other entries.
      await (await root.getDirectoryHandle(name)).removeEntry(folder).catch(() => {});
      return removed;
    },
    async clear() {
      await root.removeEntry(name, { recursive: true }).catch((error: unknown) => {
        if (!(error instanceof DOMException && error.name === "NotFoundError")) throw error;
      });
    },
  };
}

/** Cache Storage keys entries by URL; these never leave the cache (the host does not exist). */
function cacheStore(cache: Cache, name: string): EntryStore {
  const key = (folder: string, entry: string) =>
    `https://editmgt-store.invalid/${encodeURIComponent(folder)}/${encodeURIComponent(entry)}`;
  return {
    kind: "cache",
    name,
    async put(folder, entry, bytes) {
      const body = bytes instanceof Blob ? bytes : new Blob([bytes as Uint8Array<ArrayBuffer>]);
      await guardQuota(() =>
        cache.put(
          key(folder, entry),
          new Response(body, { headers: { "content-length": String(body.size) } }),
        )
      );
    },
    async get(folder, entry) {
      return await (await cache.match(key(folder, entry)))?.blob();
    },
    async remove(folder, entries) {
      let removed = false;
      for (const entry of entries) removed = await cache.delete(key(folder, entry)) || removed;
      return removed;
    },
    async clear() {
      await caches.delete(name);
    },
  };
}

/** Runs a write, turning a full disk or quota into a `download_failed` error. */
async function guardQuota(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (cause) {
    if (!(cause instanceof DOMException && cause.name === "QuotaExceededError")) throw cause;
    throw new EditMGTError(
      "download_failed",
      "the browser's storage for this site is full; free some space (or create the editor with cache: false) and retry",
      { cause, details: { reason: QUOTA_EXCEEDED } },
    );
  }
}

/** The record of the file with manifest sha256 `sha256`, or undefined when none is stored. */
export async function readRecord(
  store: EntryStore,
  sha256: string,
): Promise<FileRecord | undefined> {
  const blob = await store.get(sha256, RECORD);
  if (blob === undefined) return undefined;
  try {
    const record = JSON.parse(await blob.text()) as FileRecord;
    return record.sha256 === sha256 ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Saves a file's record. */
export async function writeRecord(store: EntryStore, record: FileRecord): Promise<void> {
  await store.put(record.sha256, RECORD, new TextEncoder().encode(JSON.stringify(record)));
}

/**
 * The complete, verified file with manifest sha256 `sha256` and size `bytes`, as one `Blob` over
 * its parts; undefined when it is not complete.
 */
export async function readFile(
  store: EntryStore,
  expected: { sha256: string; bytes: number },
): Promise<Blob | undefined> {
  const record = await readRecord(store, expected.sha256);
  if (record?.complete !== true || record.bytes !== expected.bytes) return undefined;
  const parts: Blob[] = [];
  for (let index = 0; index < record.parts.length; index++) {
    const part = await store.get(record.sha256, partEntry(index));
    if (part === undefined || part.size !== partSize(record, index)) return undefined;
    parts.push(part);
  }
  return new Blob(parts);
}

/** Whether the file is stored complete (its record says so and every part is there). */
export async function hasFile(
  store: EntryStore,
  expected: { sha256: string; bytes: number },
): Promise<boolean> {
  return await readFile(store, expected) !== undefined;
}

/** Deletes a stored file (parts and record); whether anything was stored. */
export async function deleteFile(store: EntryStore, sha256: string): Promise<boolean> {
  const record = await readRecord(store, sha256);
  const parts = record?.parts.map((_, index) => partEntry(index)) ?? [];
  return await store.remove(sha256, [...parts, RECORD]);
}

/** The size of part `index` of a file. */
export function partSize(record: Pick<FileRecord, "bytes" | "partBytes">, index: number): number {
  return Math.min(record.partBytes, record.bytes - index * record.partBytes);
}

/** Stores a validated manifest's bytes under its URL. */
export async function putManifest(store: EntryStore, url: URL, bytes: Uint8Array): Promise<void> {
  await store.put(MANIFESTS, await manifestEntry(url), bytes);
}

/** The stored manifest bytes of `url`, or undefined. */
export async function readManifest(store: EntryStore, url: URL): Promise<Uint8Array | undefined> {
  const blob = await store.get(MANIFESTS, await manifestEntry(url));
  return blob === undefined ? undefined : new Uint8Array(await blob.arrayBuffer());
}

/** Deletes the stored manifest of `url`; whether it was there. */
export async function deleteManifest(store: EntryStore, url: URL): Promise<boolean> {
  return await store.remove(MANIFESTS, [await manifestEntry(url)]);
}

/** A manifest's entry name: the sha256 of its URL without fragment (names cannot hold "/"). */
async function manifestEntry(url: URL): Promise<string> {
  const key = new URL(url);
  key.hash = "";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key.href));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
