/**
 * Local model folders in Deno. `file:` manifests are read with `Deno.readFile` (clear
 * `not_found` errors) through `src/model/deno.ts`, which is imported only when needed and by a
 * computed specifier, so browser bundles never include it.
 *
 * @module
 */

import type { FileSource } from "../model/source.ts";

/** Load options for a manifest URL: the Deno file source for `file:` URLs under Deno. */
export async function localModelOptions(url: URL): Promise<{ source?: FileSource }> {
  if (url.protocol !== "file:" || !("Deno" in globalThis)) return {};
  const module: { denoSource: FileSource } = await import(DENO_MODULE);
  return { source: module.denoSource };
}

/** The base that relative model paths resolve against: the page, or Deno's working directory. */
export function modelBase(): URL | undefined {
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  if (page) return new URL(page);
  const deno = (globalThis as { Deno?: { cwd(): string } }).Deno;
  return deno ? directoryUrl(deno.cwd()) : undefined;
}

const DENO_MODULE = new URL("../model/deno.ts", import.meta.url).href;

/** A `file:` URL of a directory path, with every character that URLs reserve escaped. */
function directoryUrl(path: string): URL {
  const segments = path.split("/").map(encodeURIComponent).join("/");
  return new URL(`file://${segments.endsWith("/") ? segments : `${segments}/`}`);
}
