/**
 * The models a server serves: each model folder's manifest (validated with the shared schema)
 * and an index of exactly the files it lists. Only files in that index are ever read, so no
 * request path can reach anything else (path traversal is impossible by construction).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { EditMGTError } from "../../errors/mod.ts";
import { openLocalModelPackage } from "../../model/deno.ts";
import { sha256Hex } from "../../model/verify.ts";
import type { Manifest } from "../../schema/manifest.ts";

/** One file of a served model. */
export interface ServedFile {
  /** Its path in the manifest (also its name under `/models/:id/`). */
  path: string;
  /** Where it is on disk. */
  location: URL;
  /** Size in bytes. */
  bytes: number;
  /** Lowercase hex sha256 (from the manifest, checked at load when `verify` is on). */
  sha256: string;
  /** Strong ETag: the quoted sha256. */
  etag: string;
  /** Whether its name embeds a prefix of its own hash, so it can be cached forever. */
  contentHashed: boolean;
  /** Media type. */
  contentType: string;
}

/** A model package the server serves. */
export interface ServedModel {
  /** The manifest's id. */
  id: string;
  /** The validated manifest. */
  manifest: Manifest;
  /** Where the manifest is on disk. */
  manifestUrl: URL;
  /** The manifest file's bytes, served as they are. */
  manifestBytes: Uint8Array;
  /** Strong ETag of the manifest bytes. */
  manifestEtag: string;
  /** The model's local files by manifest path. */
  files: ReadonlyMap<string, ServedFile>;
}

/** Options of {@linkcode loadServedModels}. */
export interface LoadServedModelsOptions {
  /** Check every file's size and sha256 against the manifest (default true). */
  verify?: boolean;
}

/** A run of 8+ hex digits between separators, the hash part of names like `w.1a2b3c4d.onnx`. */
const HASH_SEGMENT = /(?:^|[._-])([0-9a-f]{8,64})(?=[._-]|$)/gi;

/** Whether the file name (last path segment) contains a prefix of `sha256`. */
export function isContentHashedName(path: string, sha256: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  for (const match of name.matchAll(HASH_SEGMENT)) {
    if (sha256.startsWith(match[1].toLowerCase())) return true;
  }
  return false;
}

function contentTypeOf(path: string): string {
  if (path.endsWith(".json")) return "application/json";
  if (path.endsWith(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

async function sha256OfFile(location: URL): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(location);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

async function checkFile(file: ServedFile): Promise<void> {
  const stat = await Deno.stat(file.location).catch((cause) => {
    throw new EditMGTError("not_found", `model file ${file.path} is missing: ${cause}`, { cause });
  });
  if (stat.size !== file.bytes) {
    throw new EditMGTError(
      "hash_mismatch",
      `model file ${file.path} has ${stat.size} bytes, the manifest says ${file.bytes}`,
    );
  }
  const sha256 = await sha256OfFile(file.location);
  if (sha256 !== file.sha256) {
    throw new EditMGTError(
      "hash_mismatch",
      `model file ${file.path} has sha256 ${sha256}, the manifest says ${file.sha256}`,
    );
  }
}

/** Loads one model folder (or manifest path/URL) for serving. */
export async function loadServedModel(
  location: string | URL,
  options: LoadServedModelsOptions = {},
): Promise<ServedModel> {
  const model = await openLocalModelPackage(location);
  const manifestBytes = await Deno.readFile(model.manifestUrl);
  const files = new Map<string, ServedFile>();
  for (const file of model.files) {
    if (file.url.protocol !== "file:") continue;
    files.set(file.path, {
      path: file.path,
      location: file.url,
      bytes: file.bytes,
      sha256: file.sha256,
      etag: `"${file.sha256}"`,
      contentHashed: isContentHashedName(file.path, file.sha256),
      contentType: contentTypeOf(file.path),
    });
  }
  if (options.verify ?? true) {
    for (const file of files.values()) await checkFile(file);
  }
  return {
    id: model.manifest.id,
    manifest: model.manifest,
    manifestUrl: model.manifestUrl,
    manifestBytes,
    manifestEtag: `"${await sha256Hex(manifestBytes)}"`,
    files,
  };
}

/**
 * Loads every model for serving, in order (the first is the default), refusing duplicate ids.
 *
 * @example
 * ```ts
 * import { loadServedModels } from "./registry.ts";
 *
 * const models = await loadServedModels(["models/editmgt-tiny"]);
 * console.log([...models.keys()]); // ["editmgt-tiny"]
 * ```
 */
export async function loadServedModels(
  locations: readonly (string | URL)[],
  options: LoadServedModelsOptions = {},
): Promise<Map<string, ServedModel>> {
  const models = new Map<string, ServedModel>();
  for (const location of locations) {
    const model = await loadServedModel(location, options);
    if (models.has(model.id)) {
      throw new EditMGTError(
        "invalid_manifest",
        `two model folders have the id "${model.id}"; each served model needs its own id`,
      );
    }
    models.set(model.id, model);
  }
  return models;
}
