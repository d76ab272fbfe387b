/**
 * The request body limit: `413 payload_too_large` as a JSON error, checked from
 * `Content-Length` or while the body streams in, before anything parses it.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ServerEnv } from "../context.ts";
import { fail } from "../errors.ts";

/** Refuses bodies over `maxBytes` with `413 payload_too_large`. */
export function limitBody(maxBytes: number): MiddlewareHandler<ServerEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      fail(
        c as Parameters<typeof fail>[0],
        "payload_too_large",
        `the request body is over the limit of ${maxBytes} bytes: send a smaller image`,
      ),
  });
}
