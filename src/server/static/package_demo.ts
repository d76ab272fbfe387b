/**
 * The demo page shipped inside this package (its `examples/web/`), served at `/` when the
 * server is given no `static.web` folder. From a package on disk it is that folder. From a
 * package installed from JSR (read over https) each file is fetched from the registry on its
 * first request and kept in memory (the demo is 55 kB).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Context } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import { sha256Hex } from "../../model/verify.ts";
import type { ServerEnv } from "../context.ts";
import { respondWithRepresentation } from "../models/respond.ts";
import { contentTypeOf, safeRelativePath, serveFromFolder } from "./folder.ts";

/** Where this package's demo lies: a folder on disk, or the registry's URL of it. */
export const PACKAGE_DEMO: URL = new URL("../../../examples/web/", import.meta.url);

/** A file of a demo read over a URL, as it is answered. */
interface FetchedFile {
  bytes: Uint8Array<ArrayBuffer>;
  etag: string;
}

/** The demo of a package, on disk or read over a URL (see the module doc). */
export class PackageDemo {
  readonly #root: URL;
  readonly #fetch: typeof fetch;
  /** Files read over the URL (a missing one as null), by relative path. */
  readonly #files = new Map<string, Promise<FetchedFile | null>>();

  /** The demo at `root` (default {@linkcode PACKAGE_DEMO}); `fetcher` reads a URL root. */
  constructor(root: URL = PACKAGE_DEMO, fetcher: typeof fetch = fetch) {
    this.#root = root;
    this.#fetch = fetcher;
  }

  /**
   * Answers the demo's file at the request path `path` ("" or a folder: its index.html) with
   * `headers`. Throws `not_found` when there is no such file, `backend_unavailable` when the
   * registry cannot be read.
   */
  async respond(
    c: Context<ServerEnv>,
    path: string,
    headers: Record<string, string>,
  ): Promise<Response> {
    if (this.#root.protocol === "file:") {
      return await serveFromFolder(c, fileURLToPath(this.#root), path, headers);
    }
    const folder = safeRelativePath(path);
    // A folder (the root, or a path ending in "/") answers its index.html.
    const relative = folder === null || !(folder === "" || path.endsWith("/"))
      ? folder
      : [folder, "index.html"].filter((part) => part !== "").join("/");
    const file = relative === null ? null : await this.#read(relative);
    if (relative === null || file === null) {
      throw new EditMGTError("not_found", `no file ${c.req.path} here`);
    }
    return await respondWithRepresentation(c.req.raw, {
      body: file.bytes,
      size: file.bytes.byteLength,
      etag: file.etag,
      contentType: contentTypeOf(relative),
      cacheControl: "no-cache",
    }, headers);
  }

  /** The file at `relative`, fetched once; a failed read is tried again on the next request. */
  #read(relative: string): Promise<FetchedFile | null> {
    let file = this.#files.get(relative);
    if (file === undefined) {
      file = this.#fetchFile(relative);
      this.#files.set(relative, file);
      file.catch(() => this.#files.delete(relative));
    }
    return file;
  }

  async #fetchFile(relative: string): Promise<FetchedFile | null> {
    const url = new URL(relative, this.#root);
    let response: Response;
    try {
      response = await this.#fetch(url);
    } catch (cause) {
      throw new EditMGTError(
        "backend_unavailable",
        `the demo page could not be read from ${url.href}: ${(cause as Error).message}`,
        { cause },
      );
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new EditMGTError(
        "backend_unavailable",
        `the demo page could not be read from ${url.href}: HTTP ${response.status}`,
      );
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { bytes, etag: `"${(await sha256Hex(bytes)).slice(0, 24)}"` };
  }
}
