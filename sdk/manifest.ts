/**
 * Opening a model's manifest in the page: from the network first (revalidated, so a new model
 * version is seen at once), else from the copy stored beside the model files (offline use). The
 * manifest may live on any host; its files resolve against its URL or are absolute URLs.
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";
import type { ModelPackage } from "../src/model/package.ts";
import { fetchSource, type FileRequest } from "../src/model/source.ts";
import { type EntryStore, putManifest, readManifest } from "./store.ts";

/** Options for {@linkcode openManifest}. */
export interface OpenManifestOptions {
  /** Where the manifest copy is stored and read offline; null for no storage. */
  store: EntryStore | null;
  /** Base for a relative location; default the page's URL. */
  base?: string | URL;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/**
 * Opens the model package at `location` (folder or manifest URL). The manifest is validated
 * before it is stored, so an error page or an invalid manifest is never stored.
 *
 * @throws {EditMGTError} `invalid_manifest`, `unsupported_format`, `not_found`,
 * `download_failed` (offline with no stored copy), `aborted`.
 */
export async function openManifest(
  location: string | URL,
  options: OpenManifestOptions,
): Promise<ModelPackage> {
  const { store, signal } = options;
  let fetched: Uint8Array | null = null;
  const source = async (request: FileRequest): Promise<Uint8Array> => {
    try {
      fetched = await fetchSource({ ...request, signal });
      return fetched;
    } catch (error) {
      const offline = error instanceof EditMGTError && error.code === "download_failed";
      const stored = offline && store !== null ? await readManifest(store, request.url) : undefined;
      if (stored === undefined) throw error;
      return stored;
    }
  };
  // Loaded here, not with the SDK: the manifest's schema (zod) is not needed for the first paint.
  const { openModelPackage } = await import("../src/model/package.ts");
  const model = await openModelPackage(location, { source, base: options.base, signal });
  if (fetched !== null && store !== null) await putManifest(store, model.manifestUrl, fetched);
  return model;
}
