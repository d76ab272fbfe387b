/**
 * A per-client rate limit: a token bucket per client id (API key digest or IP) that holds
 * `requests` tokens and refills them evenly over `windowMs`. Past it, `429 rate_limited` with
 * `Retry-After`. Buckets live in memory (per process), bounded in number.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import type { ServerEnv } from "../context.ts";
import { fail } from "../errors.ts";
import type { RateLimitOptions } from "../options.ts";

/** Most clients tracked at once; the least recently seen are forgotten first. */
const MAX_CLIENTS = 10_000;

interface Bucket {
  tokens: number;
  updated: number;
}

/** The token buckets of every client, with an injectable clock for tests. */
export class RateLimiter {
  readonly #options: RateLimitOptions;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** A limiter allowing `options.requests` per `options.windowMs` per client. */
  constructor(options: RateLimitOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
  }

  /**
   * Takes a token for `client`. Returns 0 when allowed, else the seconds until a token is
   * available again.
   *
   * @example
   * ```ts
   * import { RateLimiter } from "./rate_limit.ts";
   *
   * const limiter = new RateLimiter({ requests: 2, windowMs: 60_000 });
   * console.log(limiter.take("ip:1"), limiter.take("ip:1"), limiter.take("ip:1")); // 0 0 30
   * ```
   */
  take(client: string): number {
    const { requests, windowMs } = this.#options;
    const now = this.#now();
    const refillPerMs = requests / windowMs;
    const bucket = this.#buckets.get(client) ?? { tokens: requests, updated: now };
    this.#buckets.delete(client);
    bucket.tokens = Math.min(requests, bucket.tokens + (now - bucket.updated) * refillPerMs);
    bucket.updated = now;
    this.#buckets.set(client, bucket);
    if (this.#buckets.size > MAX_CLIENTS) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000));
  }
}

/** Middleware that answers `429 rate_limited` with `Retry-After` once a client's bucket is empty. */
export function rateLimit(limiter: RateLimiter): MiddlewareHandler<ServerEnv> {
  return async function rateLimit(c, next) {
    const retryAfter = limiter.take(c.get("clientId"));
    if (retryAfter > 0) {
      return fail(
        c,
        "rate_limited",
        `too many edit requests from this client; retry in ${retryAfter} s`,
        { "Retry-After": String(retryAfter) },
      );
    }
    await next();
  };
}
