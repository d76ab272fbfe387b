/**
 * Static folders: the demo page at `/` (examples/web) and the built browser SDK at `/sdk/`
 * (dist/sdk, built on demand when missing: see ./sdk.ts). A request path is decoded, split
 * into segments, and refused when a segment is empty-named, hidden (`.`-prefixed, which covers
 * `.` and `..`) or holds a backslash, NUL or colon; the resolved real path must still lie inside
 * the folder (no symlink escapes). When the demo folder is missing, `/` answers a small
 * placeholder page.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import type { ServerEnv } from "../context.ts";
import { notFound } from "../errors.ts";
import { respondWithRepresentation } from "../models/respond.ts";
import type { StaticOptions } from "../options.ts";
import { type RouteSpec, serve } from "../route.ts";
import type { SdkBuild } from "./sdk.ts";

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

/** The headers that make a page cross-origin isolated (WASM threads need it). */
export const ISOLATION_HEADERS: Record<string, string> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
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
  const extension = file.slice(file.lastIndexOf(".") + 1).toLowerCase();
  return await respondWithRepresentation(c.req.raw, {
    body: new URL(`file://${file.split("/").map(encodeURIComponent).join("/")}`),
    size: stat.size,
    etag: `W/"${stat.size.toString(36)}-${(stat.mtime?.getTime() ?? 0).toString(36)}"`,
    contentType: CONTENT_TYPES[extension] ?? "application/octet-stream",
    cacheControl: "no-cache",
  }, headers);
}

/**
 * The page `/` answers while examples/web is missing, its links under `base` (the resolved
 * `urlBase`: the public URL, the base path, or "").
 */
export function placeholderPage(base: string): string {
  const href = (path: string) => escapeHtml(`${base}${path}`);
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>EditMGT server</title>
<h1>EditMGT server</h1>
<p>The demo page is not here yet (examples/web). The API is:</p>
<ul>
  <li><a href="${
    href("/v1/models")
  }">GET /v1/models</a>: models, with their manifests and files under /models/</li>
  <li>POST /v1/edits: edit an image (multipart: image, instruction, options)</li>
  <li>POST /v1/images/edits: the OpenAI-compatible image edit</li>
  <li><a href="${href("/openapi.json")}">GET /openapi.json</a>: the whole API</li>
  <li><a href="${href("/sdk/mod.js")}">GET /sdk/mod.js</a>: the browser SDK</li>
</ul>
</html>
`;
}

/** `text` with the characters HTML gives a meaning escaped. */
function escapeHtml(text: string): string {
  const entities: Record<string, string> = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
  };
  return text.replace(/[&<>"']/g, (character) => entities[character]);
}

/** `GET /sdk/*`: the browser SDK, loadable from any page. */
const SDK = { method: "GET", path: "/sdk/*", access: "public" } as const satisfies RouteSpec;
/** `GET /`: the demo page. */
const HOME = { method: "GET", path: "/", access: "same-origin" } as const satisfies RouteSpec;
/** `GET /*`: the demo's other files. */
const WEB = { method: "GET", path: "/*", access: "same-origin" } as const satisfies RouteSpec;

/** The static routes, for the route table (last: `/*` answers what no other route does). */
export const STATIC_ROUTES: readonly RouteSpec[] = [SDK, HOME, WEB];

/**
 * The static routes: `/sdk/*` from the SDK folder (from `sdkBuild`'s folder while that is
 * missing), `/` and every other unmatched GET from the demo folder (the placeholder page at `/`,
 * its links under `base`, when it is missing).
 */
export function staticRoutes(
  folders: Required<StaticOptions>,
  base: string,
  sdkBuild: SdkBuild,
): Hono<ServerEnv> {
  const { web, sdk } = folders;
  const app = new Hono<ServerEnv>();
  const sdkHeaders = { ...ISOLATION_HEADERS, "Cross-Origin-Resource-Policy": "cross-origin" };
  serve(app, SDK, async (c) => {
    const folder = await isDirectory(sdk) ? sdk : await sdkBuild.folder();
    return await serveFromFolder(c, folder, c.req.path.slice("/sdk/".length), sdkHeaders);
  });
  serve(app, HOME, async (c) => {
    if (await isDirectory(web)) return await serveFromFolder(c, web, "", ISOLATION_HEADERS);
    return c.html(placeholderPage(base), 200, ISOLATION_HEADERS);
  });
  serve(app, WEB, (c) => {
    if (/^\/(v1|models|sdk)\//.test(c.req.path)) return notFound(c);
    return serveFromFolder(c, web, c.req.path, ISOLATION_HEADERS);
  });
  return app;
}
