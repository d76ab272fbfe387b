/**
 * The Hono environment of the server: what `Deno.serve` passes in and what middleware sets on
 * the context.
 *
 * @module
 */

import type { EditMGTError } from "../errors/mod.ts";

/** What `Deno.serve(app.fetch)` passes as the second argument (Hono's `c.env`). */
export interface ServerBindings {
  /** The peer's address (absent with `app.request`). */
  remoteAddr?: { hostname?: string; port?: number; transport?: string };
}

/** Values middleware sets on the context. */
export interface ServerVariables {
  /** The request id (from `X-Request-Id` when valid, else generated). */
  requestId: string;
  /** Who is calling: `key:<digest>` for an API key, else `ip:<address>`. */
  clientId: string;
  /** The request body, read by the body middleware of the submission routes. */
  body?: Uint8Array;
  /** The stable error code of an error response, for the request log. */
  errorCode?: string;
  /** The body of this route's error answers, when not the package's own (`RouteSpec.errorBody`). */
  errorBody?: (error: EditMGTError) => unknown;
}

/** The server's Hono environment. */
export interface ServerEnv {
  /** See {@linkcode ServerBindings}. */
  Bindings: ServerBindings;
  /** See {@linkcode ServerVariables}. */
  Variables: ServerVariables;
}
