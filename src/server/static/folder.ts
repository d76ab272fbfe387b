/**
 * Files of a folder as HTTP answers: a request path is decoded, split into segments, and refused
 * when a segment is empty-named, hidden (`.`-prefixed, which covers `.` and `..`) or holds a
 * backslash, NUL or colon; the resolved real path must still lie inside the folder (no symlink
 * escapes). A folder answers its index.html.
 *
 * @module
 */

import type { Context } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import type { ServerEnv } from "../context.ts";
import { respondWithRepresentation } from "../models/respond.ts";

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "application/javascript; charset=utf-8",
  mjs: "application/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  wasm: "application/wasm",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  onnx: "application/octet-stream",
};

/** The safe relative path of a request path, or null when it may not be served. */
export function safeRelativePath(path: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  const segments = decoded.split("/").filter((segment) => segment !== "");
  const unsafe = segments.some((segment) => segment.startsWith(".") || /[\\\0:]/.test(segment));
  return unsafe ? null : segments.join("/");
}

/** The real path of `relative` inside `root`, or null when it is missing or outside. */
async function resolveInside(root: string, relative: string): Promise<string | null> {
  try {
    const realRoot = await Deno.realPath(root);
    let real = await Deno.realPath(relative === "" ? realRoot : `${realRoot}/${relative}`);
    if (real !== realRoot && !real.startsWith(`${realRoot}/`)) return null;
    if ((await Deno.stat(real)).isDirectory) real = await Deno.realPath(`${real}/index.html`);
    if (!real.startsWith(`${realRoot}/`)) return null;
    return (await Deno.stat(real)).isFile ? real : null;
  } catch {
    return null;
  }
}

/** Whether `folder` exists and is a directory. */
export async function isDirectory(folder: string): Promise<boolean> {
  try {
    return (await Deno.stat(folder)).isDirectory;
  } catch {
    return false;
  }
}

/** Answers `relativePath` from `root` with `headers`, or throws `not_found`. */
export async function serveFromFolder(
  c: Context<ServerEnv>,
  root: string,
  relativePath: string,
  headers: Record<string, string>,
): Promise<Response> {
  const relative = safeRelativePath(relativePath);
  const file = relative === null ? null : await resolveInside(root, relative);
  if (file === null) {
    throw new EditMGTError("not_found", `no file ${c.req.path} here`);
  }
  const stat = await Deno.stat(file);
  return await respondWithRepresentation(c.req.raw, {
    body: new URL(`file://${file.split("/").map(encodeURIComponent).join("/")}`),
    size: stat.size,
    etag: `W/"${stat.size.toString(36)}-${(stat.mtime?.getTime() ?? 0).toString(36)}"`,
    contentType: contentTypeOf(file),
    cacheControl: "no-cache",
  }, headers);
}

/** The media type of a file, by its extension. */
export function contentTypeOf(path: string): string {
  const extension = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}
