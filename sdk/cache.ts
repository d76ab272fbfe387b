/**
 * The public face of the model store: whether a model is fully downloaded, deleting one model,
 * clearing everything.
 *
 * @module
 */

import { EditMGTError, isEditMGTError } from "../src/errors/mod.ts";
import { type ModelPackage, openModelPackage } from "../src/model/package.ts";
import type { FileRequest } from "../src/model/source.ts";
import { DEFAULT_CACHE_NAME, deleteFile, hasCacheStorage, matchFile, readStored } from "./store.ts";

/** The models stored in one Cache Storage cache. */
export interface ModelCache {
  /** The Cache Storage name. */
  readonly name: string;
  /**
   * Whether the model at `manifest` (folder or manifest URL) can load offline: every component
   * has its base files or one variant's files stored, with the sha256 its stored manifest gives.
   * Makes no network request.
   */
  has(manifest: string | URL): Promise<boolean>;
  /** Deletes the model's files, partial downloads and manifest; whether anything was stored. */
  delete(manifest: string | URL): Promise<boolean>;
  /** Deletes every stored model (the whole cache). */
  clear(): Promise<void>;
}

/**
 * The model cache named `name` (default "editmgt-models").
 *
 * @example
 * ```ts
 * import { modelCache } from "@editmgt/editmgt/sdk";
 *
 * const cache = modelCache();
 * if (await cache.has("/models/editmgt-tiny/")) console.log("ready to work offline");
 * await cache.delete("/models/editmgt-tiny/");
 * ```
 */
export function modelCache(name: string = DEFAULT_CACHE_NAME): ModelCache {
  const open = async () => {
    if (!hasCacheStorage()) {
      throw new EditMGTError(
        "backend_unavailable",
        "Cache Storage is not available here (it needs a secure context: https or localhost)",
      );
    }
    return await caches.open(name);
  };
  return {
    name,
    async has(location) {
      const cache = await open();
      const stored = await storedPackage(cache, location);
      if (stored === null) return false;
      const fileSets = Map.groupBy(
        stored.files,
        (file) => `${file.component}\n${file.variant ? file.dtype : ""}`,
      );
      const complete = new Set<string>();
      for (const files of fileSets.values()) {
        const matches = await Promise.all(files.map((file) => matchFile(cache, file.url, file)));
        await Promise.all(matches.map((match) => match?.body?.cancel()));
        if (matches.every((match) => match !== undefined)) complete.add(files[0].component);
      }
      return stored.manifest.components.every((component) => complete.has(component.name));
    },
    async delete(location) {
      const cache = await open();
      const stored = await storedPackage(cache, location);
      if (stored === null) return false;
      let deleted = false;
      for (const file of stored.files) deleted = await deleteFile(cache, file.url) || deleted;
      return await deleteFile(cache, stored.manifestUrl) || deleted;
    },
    async clear() {
      if (hasCacheStorage()) await caches.delete(name);
    },
  };
}

/** The stored manifest of the model at `location` as a package, or null if none is stored. */
async function storedPackage(cache: Cache, location: string | URL): Promise<ModelPackage | null> {
  const source = async ({ url }: FileRequest): Promise<Uint8Array> => {
    const bytes = await readStored(cache, url);
    if (bytes === undefined) throw new EditMGTError("not_found", `${url.href} is not stored`);
    return bytes;
  };
  try {
    return await openModelPackage(location, { source, base: pageUrl() });
  } catch (error) {
    if (isEditMGTError(error, "not_found")) return null;
    throw error;
  }
}

function pageUrl(): string | undefined {
  return (globalThis as { location?: { href?: string } }).location?.href;
}
