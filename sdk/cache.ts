/**
 * The public face of the model store: whether a model is fully downloaded, deleting one model,
 * clearing everything.
 *
 * @module
 */

import { EditMGTError, isEditMGTError } from "../src/errors/mod.ts";
import type { ModelPackage } from "../src/model/package.ts";
import type { FileRequest } from "../src/model/source.ts";
import type { BrowserDevice } from "../src/schema/devices.ts";
import type { DtypeRequest } from "../src/model/variants.ts";
import { dtypesOf } from "../src/model/variants.ts";
import { downloadModelFiles, type DownloadReport, type ModelDownloadEvent } from "./download.ts";
import { openManifest } from "./manifest.ts";
import { chooseDevice, modelNeeds, probe, suggestVariants } from "./probe.ts";
import {
  DEFAULT_CACHE_NAME,
  deleteFile,
  deleteManifest,
  type EntryStore,
  hasFile,
  openStore,
  readManifest,
  type StorageKind,
} from "./store.ts";

/** The models stored under one name (an OPFS folder, else a Cache Storage cache). */
export interface ModelCache {
  /** The storage name. */
  readonly name: string;
  /**
   * Whether the model at `manifest` (folder or manifest URL) can load offline: every component
   * has its base files or one variant's files stored complete, with the sha256 its stored
   * manifest gives. Makes no network request.
   */
  has(manifest: string | URL): Promise<boolean>;
  /**
   * Downloads the files `createEditor` would load (the weights chosen for `device` and `dtype`,
   * as there) without loading the model: to fetch a large model ahead of time, or to resume
   * its download. Resolves when every file is stored and verified.
   */
  download(manifest: string | URL, options?: ModelDownloadOptions): Promise<DownloadReport>;
  /** Deletes the model's files, partial downloads and manifest; whether anything was stored. */
  delete(manifest: string | URL): Promise<boolean>;
  /** Deletes every stored model. */
  clear(): Promise<void>;
}

/** Options for {@linkcode ModelCache.download}. */
export interface ModelDownloadOptions {
  /** The device whose weights to fetch; default the one `createEditor`'s "auto" picks. */
  device?: BrowserDevice;
  /** Which weights, as `createEditor`'s `dtype` (default "auto"). */
  dtype?: DtypeRequest;
  /** Cancels the download; the stored parts are kept. */
  signal?: AbortSignal;
  /** Per file `initiate`, `download` and `done` events. */
  onProgress?: (event: ModelDownloadEvent) => void;
}

/**
 * The model store named `name` (default "editmgt-models"), in the OPFS where there is one, else
 * in Cache Storage (`kind` picks one).
 *
 * @example
 * ```ts
 * import { modelCache } from "@editmgt/editmgt/sdk";
 *
 * const cache = modelCache();
 * if (!await cache.has("/models/editmgt-tiny/")) {
 *   await cache.download("/models/editmgt-tiny/", {
 *     onProgress: (event) => event.type === "download" && console.log(event.loaded / event.total),
 *   });
 * }
 * await cache.delete("/models/editmgt-tiny/");
 * ```
 */
export function modelCache(name: string = DEFAULT_CACHE_NAME, kind?: StorageKind): ModelCache {
  const open = async () => {
    const store = await openStore(name, kind);
    if (store === null) {
      throw new EditMGTError(
        "backend_unavailable",
        "neither the Origin Private File System nor Cache Storage is available here (they need a secure context: https or localhost)",
      );
    }
    return store;
  };
  return {
    name,
    async has(location) {
      const store = await open();
      const stored = await storedPackage(store, location);
      if (stored === null) return false;
      const fileSets = Map.groupBy(
        stored.files,
        (file) => `${file.component}\n${file.variant ? file.dtype : ""}`,
      );
      const complete = new Set<string>();
      for (const files of fileSets.values()) {
        const present = await Promise.all(files.map((file) => hasFile(store, file)));
        if (present.every(Boolean)) complete.add(files[0].component);
      }
      return stored.manifest.components.every((component) => complete.has(component.name));
    },
    async download(location, options = {}) {
      const store = await open();
      const { signal, dtype } = options;
      const model = await openManifest(location, { store, signal });
      const report = await probe();
      const device = options.device ??
        (chooseDevice(report, modelNeeds(model.manifest, dtype)).device === "webgpu"
          ? "webgpu"
          : "wasm");
      const dtypes = dtypesOf(suggestVariants(report, model.manifest, { device, dtype }));
      return await downloadModelFiles(store, model.filesFor(dtypes), {
        signal,
        onProgress: options.onProgress,
      });
    },
    async delete(location) {
      const store = await open();
      const stored = await storedPackage(store, location);
      if (stored === null) return false;
      let deleted = false;
      for (const file of stored.files) deleted = await deleteFile(store, file.sha256) || deleted;
      return await deleteManifest(store, stored.manifestUrl) || deleted;
    },
    async clear() {
      await (await openStore(name, kind))?.clear();
    },
  };
}

/** The stored manifest of the model at `location` as a package, or null if none is stored. */
async function storedPackage(
  store: EntryStore,
  location: string | URL,
): Promise<ModelPackage | null> {
  const source = async ({ url }: FileRequest): Promise<Uint8Array> => {
    const bytes = await readManifest(store, url);
    if (bytes === undefined) throw new EditMGTError("not_found", `${url.href} is not stored`);
    return bytes;
  };
  try {
    const { openModelPackage } = await import("../src/model/package.ts");
    return await openModelPackage(location, { source, base: pageUrl() });
  } catch (error) {
    if (isEditMGTError(error, "not_found")) return null;
    throw error;
  }
}

function pageUrl(): string | undefined {
  return (globalThis as { location?: { href?: string } }).location?.href;
}
