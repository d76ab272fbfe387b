/**
 * Optional bearer API keys and the client identity used by rate limits and logs. Keys are
 * compared as SHA-256 digests in constant time; only a digest prefix ever reaches a log.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import type { ServerEnv } from "../context.ts";
import { fail } from "../errors.ts";

/** SHA-256 of `text` as lowercase hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** Equal strings of equal length, without an early exit that leaks where they differ. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** The client's IP: the peer address, or the first `X-Forwarded-For` hop behind a proxy. */
export function clientAddress(c: Context<ServerEnv>, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  return c.env?.remoteAddr?.hostname ?? "unknown";
}

/** The bearer token of `Authorization: Bearer <token>`, if any. */
function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/**
 * Sets `clientId` (`key:<digest prefix>` when a valid key is given, else `ip:<address>`), and,
 * when `apiKeys` is not empty, answers `401 unauthorized` to requests without a valid key.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { ServerEnv } from "../context.ts";
 * import { apiKeyAuth } from "./index.ts";
 *
 * const app = new Hono<ServerEnv>();
 * app.use("/v1/edits", apiKeyAuth({ apiKeys: ["secret"], trustProxy: false }));
 * app.post("/v1/edits", (c) => c.text(c.get("clientId")));
 * const response = await app.request("/v1/edits", { method: "POST" });
 * console.log(response.status); // 401
 * ```
 */
export function apiKeyAuth(
  options: { apiKeys: string[]; trustProxy: boolean },
): MiddlewareHandler<ServerEnv> {
  const digests = Promise.all(options.apiKeys.map(sha256Hex));
  return async function apiKeyAuth(c, next) {
    const known = await digests;
    const token = bearerToken(c.req.header("authorization"));
    if (token !== undefined) {
      const digest = await sha256Hex(token);
      let valid = false;
      for (const candidate of known) valid = constantTimeEqual(candidate, digest) || valid;
      if (valid) {
        c.set("clientId", `key:${digest.slice(0, 12)}`);
        return await next();
      }
    }
    c.set("clientId", `ip:${clientAddress(c, options.trustProxy)}`);
    if (known.length === 0) return await next();
    return fail(
      c,
      "unauthorized",
      token === undefined
        ? "this server needs an API key: send `Authorization: Bearer <key>`"
        : "the API key is not valid",
      { "WWW-Authenticate": 'Bearer realm="editmgt"' },
    );
  };
}
