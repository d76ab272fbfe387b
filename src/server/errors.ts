/**
 * Error responses: every failure is answered with `{ error: { code, message, details? } }` and
 * the HTTP status of its code. Bad input is always an {@linkcode EditMGTError} with a 4xx code;
 * anything else is a server bug, logged with its stack and answered `internal` (500).
 *
 * @module
 */

import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { EditMGTError, type ErrorCode } from "../errors/mod.ts";
import type { ServerEnv } from "./context.ts";
import type { Logger } from "./logging/index.ts";

/**
 * Answers `error` as JSON with its status, `Retry-After` when its details carry `retryAfter`
 * seconds, and any extra headers; the body is the package's, or the route's own format (the
 * `errorBody` a route of the route table names).
 */
export function errorResponse(
  c: Context<ServerEnv>,
  error: EditMGTError,
  headers: Record<string, string> = {},
): Response {
  c.set("errorCode", error.code);
  const retryAfter = error.details?.retryAfter;
  if (typeof retryAfter === "number") c.header("Retry-After", String(retryAfter));
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  const body = c.get("errorBody")?.(error) ?? error.toJSON();
  return c.json(body, error.status as ContentfulStatusCode);
}

/** Longest piece of client text (an id, a field name, a path) repeated in errors and logs. */
export const MAX_ECHO_CHARS = 64;
/** Most names an error lists; the rest are counted. */
export const MAX_LISTED = 10;

/**
 * `text` cut to `max` characters (with "…" and the full length when cut), so a client cannot
 * make errors and logs repeat an arbitrarily long value.
 *
 * @example
 * ```ts
 * import { clip } from "./errors.ts";
 *
 * console.log(clip("x".repeat(100), 8)); // xxxxxxxx… (100 characters)
 * ```
 */
export function clip(text: string, max: number = MAX_ECHO_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** Names, each clipped, the first {@linkcode MAX_LISTED} of them with a count of the rest. */
export function nameList(names: readonly string[]): string {
  const listed = names.slice(0, MAX_LISTED).map((name) => clip(name)).join(", ");
  return names.length > MAX_LISTED ? `${listed} and ${names.length - MAX_LISTED} more` : listed;
}

/** Shorthand for `errorResponse(c, new EditMGTError(code, message))`. */
export function fail(
  c: Context<ServerEnv>,
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>,
): Response {
  return errorResponse(c, new EditMGTError(code, message), headers);
}

/** The error code that belongs to an HTTP status Hono itself raised. */
function codeOfStatus(status: number): ErrorCode {
  if (status === 401) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 413) return "payload_too_large";
  if (status === 415) return "unsupported_format";
  if (status === 429) return "rate_limited";
  return status < 500 ? "invalid_input" : "internal";
}

/** The app's error handler (see the module doc). */
export function handleError(log: Logger): ErrorHandler<ServerEnv> {
  return (error, c) => {
    if (error instanceof EditMGTError) {
      if (error.status >= 500 && error.code !== "busy") {
        log({ level: "error", msg: "request failed", requestId: c.get("requestId"), error });
      }
      return errorResponse(c, error);
    }
    if (error instanceof HTTPException) {
      return fail(c, codeOfStatus(error.status), error.message || `HTTP ${error.status}`);
    }
    log({
      level: "error",
      msg: "unexpected error",
      requestId: c.get("requestId"),
      error,
      stack: error instanceof Error ? error.stack : undefined,
    });
    return fail(c, "internal", "the server failed to answer; the error was logged");
  };
}

/** Unknown routes: `404 not_found`. */
export const notFound: NotFoundHandler<ServerEnv> = (c) =>
  fail(c, "not_found", `no route for ${c.req.method} ${clip(c.req.path)}`);
