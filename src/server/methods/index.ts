/**
 * `405 method_not_allowed` with `Allow` for a path that has routes, but none for the request's
 * method (`DELETE /v1/edits`), instead of a 404. The methods come from the app's own route
 * table, so they stay in step with the routes.
 *
 * @module
 */

import type { Hono, NotFoundHandler } from "hono";
import type { ServerEnv } from "../context.ts";
import { fail, notFound } from "../errors.ts";

/** A Hono route path (`/v1/edits/:id`, `/models/:id/*`) as a regular expression. */
function pathPattern(path: string): RegExp {
  const source = path.split(/(:[A-Za-z0-9_]+|\*)/).map((part) =>
    part === "*"
      ? ".*"
      : part.startsWith(":")
      ? "[^/]+"
      : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${source}$`);
}

/**
 * The methods the routes of `routes` answer on `path`, sorted (HEAD wherever GET is); empty
 * when no route matches it. Middleware (method `ALL`) does not count, nor does the catch-all
 * route `/*` where a route of its own matches the path.
 *
 * @example
 * ```ts
 * import { allowedMethods } from "./index.ts";
 *
 * const routes = [{ method: "GET", path: "/v1/edits/:id" }, { method: "POST", path: "/v1/edits" }];
 * console.log(allowedMethods(routes, "/v1/edits/abc")); // ["GET", "HEAD"]
 * ```
 */
export function allowedMethods(
  routes: readonly { method: string; path: string }[],
  path: string,
): string[] {
  const matching = routes.filter((route) =>
    route.method !== "ALL" && pathPattern(route.path).test(path)
  );
  const own = matching.filter((route) => route.path !== "/*");
  const methods = new Set<string>();
  for (const route of own.length > 0 ? own : matching) {
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  return [...methods].sort();
}

/** The not-found handler of `app`: 405 with `Allow` when the path has other methods, else 404. */
export function methodNotAllowed(app: Hono<ServerEnv>): NotFoundHandler<ServerEnv> {
  return (c) => {
    const allow = allowedMethods(app.routes, c.req.path);
    if (allow.length === 0 || allow.includes(c.req.method)) return notFound(c);
    return fail(
      c,
      "method_not_allowed",
      `${c.req.method} is not allowed here; this path takes ${allow.join(", ")}`,
      { Allow: allow.join(", ") },
    );
  };
}
