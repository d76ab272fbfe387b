/**
 * What a route of the server is, as the route table (`routes.ts`) lists it: its method and
 * path, who may call it (which sets its CORS and API-key rules), whether it is a submission
 * (rate limit, buffered body), and its OpenAPI operation. Each feature folder exports the
 * descriptors of its routes beside their handlers.
 *
 * @module
 */

import type { Env, Handler, Hono } from "hono";
import type { EditMGTError } from "../errors/mod.ts";

/**
 * Who may call a route:
 * - `public`: any web page (CORS `*`), no API key (model files, the SDK, the document);
 * - `edit`: the edit API: API keys when the server has some, CORS from the `corsOrigins`
 *   allowlist;
 * - `same-origin`: no CORS headers, no key (the demo page, health probes).
 */
export type RouteAccess = "public" | "edit" | "same-origin";

/** The HTTP methods routes take (HEAD is answered wherever GET is). */
export type RouteMethod = "GET" | "POST";

/** The OpenAPI operation of a route; the table adds its path parameters and security. */
export interface RouteDoc {
  /** One line: what the route does. */
  summary: string;
  /** A description of each path parameter, by name (`{ id: "edit job id" }`). */
  pathParameters?: Record<string, string>;
  /** Query and header parameters, as OpenAPI parameter objects. */
  parameters?: Record<string, unknown>[];
  /** The OpenAPI request body. */
  requestBody?: Record<string, unknown>;
  /** The OpenAPI responses, by status. */
  responses: Record<number, Record<string, unknown>>;
}

/** One route of the server. */
export interface RouteSpec {
  /** The method. */
  readonly method: RouteMethod;
  /** The Hono path pattern (`/v1/edits/:id`, `/models/:id/:path{.+}`, `/sdk/*`). */
  readonly path: string;
  /** Who may call it (see {@linkcode RouteAccess}). */
  readonly access: RouteAccess;
  /** It queues work: the rate limit applies and its body is read (bounded) before the handler. */
  readonly submission?: boolean;
  /**
   * The body of the route's error answers, its middleware's included (API keys, limits); absent:
   * the package's `{ error: { code, message, details } }`.
   */
  readonly errorBody?: (error: EditMGTError) => unknown;
  /** Its operation in the OpenAPI document; absent for pages and static files. */
  readonly doc?: RouteDoc;
}

/**
 * Registers `handler` on `app` for `route`'s method and path: the descriptor is the one place
 * a route's method and path are written.
 */
export function serve<E extends Env, const R extends RouteSpec>(
  app: Hono<E>,
  route: R,
  handler: Handler<E, R["path"]>,
): void {
  app.on(route.method, route.path, handler);
}

/** The names of the parameters of a Hono path pattern, in order. */
export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map(([, name]) => name);
}

/**
 * A Hono path pattern as an OpenAPI path: `:name` (with its regular expression, if any) becomes
 * `{name}`.
 *
 * @example
 * ```ts
 * import { openApiPath } from "./route.ts";
 *
 * console.log(openApiPath("/models/:id/:path{.+}")); // "/models/{id}/{path}"
 * ```
 */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
}

/** The distinct paths of the routes of `routes` that `test` accepts, in order. */
export function routePaths(
  routes: readonly RouteSpec[],
  test: (route: RouteSpec) => boolean,
): string[] {
  return [...new Set(routes.filter(test).map((route) => route.path))];
}
