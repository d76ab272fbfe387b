/**
 * Structured logs: one JSON object per line, with the request id of the request it belongs to,
 * and the middleware that logs every request once it is answered.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import type { ServerEnv } from "../context.ts";
import { clip } from "../errors.ts";

/** Severity of a log record. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** One log record: a message and flat, JSON-serializable fields. */
export interface LogRecord {
  /** Severity. */
  level: LogLevel;
  /** What happened, in a few words (`"request"`, `"job completed"`). */
  msg: string;
  /** Anything else worth knowing (`requestId`, `job`, `status`, `ms`...). */
  [field: string]: unknown;
}

/** A log sink. */
export type Logger = (record: LogRecord) => void;

/**
 * A logger that writes each record as one JSON line (with an ISO `time`) to `write`, by default
 * standard output.
 *
 * @example
 * ```ts
 * import { jsonLogger } from "@editmgt/editmgt/server";
 *
 * const lines: string[] = [];
 * const log = jsonLogger((line) => lines.push(line));
 * log({ level: "info", msg: "listening", port: 8000 });
 * console.log(JSON.parse(lines[0]).port); // 8000
 * ```
 */
export function jsonLogger(write: (line: string) => void = (line) => console.log(line)): Logger {
  return (record) => {
    const { level, msg, ...fields } = record;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }, jsonSafe));
  };
}

/** Errors become `{ name, message, code }`; bigints become strings. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  return value;
}

/**
 * Logs every request when it is answered: method, path (cut short), status, duration, request
 * id and the client (API key digest or IP, never the key itself). Server errors are logged at
 * `error`, except 503 (busy or still starting: the server protecting itself), at `warn`.
 */
export function requestLog(log: Logger): MiddlewareHandler<ServerEnv> {
  return async function requestLog(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    log({
      level: status >= 500 && status !== 503 ? "error" : status >= 400 ? "warn" : "info",
      msg: "request",
      requestId: c.get("requestId"),
      method: c.req.method,
      path: clip(c.req.path),
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      client: c.get("clientId"),
      ...(c.get("errorCode") ? { code: c.get("errorCode") } : {}),
    });
  };
}
