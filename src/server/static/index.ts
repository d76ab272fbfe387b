/**
 * Static content: the demo page at `/` (the package's own, ./package_demo.ts, or the folder
 * `static.web`) and the built browser SDK at `/sdk/` (dist/sdk, built on demand when missing:
 * ./sdk.ts), served by ./folder.ts. When the demo cannot be had (a configured folder missing, the
 * registry unreachable), `/` answers a small placeholder page with the API's links.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { ServerEnv } from "../context.ts";
import { notFound } from "../errors.ts";
import type { Logger } from "../logging/index.ts";
import type { ResolvedStatic } from "../options.ts";
import { type RouteSpec, serve } from "../route.ts";
import { isDirectory, serveFromFolder } from "./folder.ts";
import type { PackageDemo } from "./package_demo.ts";
import type { SdkBuild } from "./sdk.ts";

/** The headers that make a page cross-origin isolated (WASM threads need it). */
export const ISOLATION_HEADERS: Record<string, string> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

/**
 * The page `/` answers when the demo cannot be had, its links under `base` (the resolved
 * `urlBase`: the public URL, the base path, or "").
 */
export function placeholderPage(base: string): string {
  const href = (path: string) => escapeHtml(`${base}${path}`);
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>EditMGT server</title>
<h1>EditMGT server</h1>
<p>The demo page is not here. The API is:</p>
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

/** What {@linkcode staticRoutes} serves from. */
export interface StaticRoutesOptions {
  /** The demo folder (null: `demo`) and the SDK folder. */
  folders: ResolvedStatic;
  /** The resolved `urlBase` (the public URL, the base path, or ""), for the placeholder's links. */
  base: string;
  /** The SDK built on demand while its folder is missing. */
  sdkBuild: SdkBuild;
  /** The package's own demo. */
  demo: PackageDemo;
  /** Where a demo that cannot be read is logged. */
  log: Logger;
}

/**
 * The static routes: `/sdk/*` from the SDK folder (from `sdkBuild`'s folder while that is
 * missing), `/` and every other unmatched GET from the demo: the folder `web`, or `demo` (the
 * package's own) when `web` is null; the placeholder page at `/`, its links under `base`, when
 * the demo cannot be had.
 */
export function staticRoutes(
  { folders, base, sdkBuild, demo, log }: StaticRoutesOptions,
): Hono<ServerEnv> {
  const { web, sdk } = folders;
  const app = new Hono<ServerEnv>();
  const sdkHeaders = { ...ISOLATION_HEADERS, "Cross-Origin-Resource-Policy": "cross-origin" };
  const serveDemo = (c: Context<ServerEnv>, path: string) =>
    web === null
      ? demo.respond(c, path, ISOLATION_HEADERS)
      : serveFromFolder(c, web, path, ISOLATION_HEADERS);
  serve(app, SDK, async (c) => {
    const folder = await isDirectory(sdk) ? sdk : await sdkBuild.folder();
    return await serveFromFolder(c, folder, c.req.path.slice("/sdk/".length), sdkHeaders);
  });
  serve(app, HOME, async (c) => {
    if (web === null || await isDirectory(web)) {
      try {
        return await serveDemo(c, "");
      } catch (error) {
        if (web !== null) throw error;
        log({
          level: "warn",
          msg: "the package's demo page could not be read",
          error: String((error as Error).message),
        });
      }
    }
    return c.html(placeholderPage(base), 200, ISOLATION_HEADERS);
  });
  serve(app, WEB, (c) => {
    if (/^\/(v1|models|sdk)\//.test(c.req.path)) return notFound(c);
    return serveDemo(c, c.req.path);
  });
  return app;
}
