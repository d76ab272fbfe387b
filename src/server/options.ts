/**
 * The options of {@linkcode createApp}: one typed object with documented defaults, and the
 * function that fills the defaults in.
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import type { DeviceName } from "../model/backend.ts";
import type { DtypeRequest } from "../model/variants.ts";
import { MAX_PROMPT_CHARS } from "../schema/options.ts";
import type { Logger } from "./logging/index.ts";
import type { ServedModel } from "./models/registry.ts";

/** Creates the engine that runs the edits of one model (see {@linkcode ServerOptions.engine}). */
export type EngineFactory = (model: ServedModel) => Engine;

/** Size and range limits of requests. Every field has a default. */
export interface ServerLimits {
  /** Largest request body in bytes (default 20 MiB). */
  maxBodyBytes: number;
  /** Most pixels of an input image, checked from its header before decoding (default 16.7 M). */
  maxImagePixels: number;
  /** Longest instruction in characters (default 2000, the schema's limit). */
  maxInstructionChars: number;
  /** Most images one OpenAI-style request may ask for with `n` (default 10, as OpenAI allows). */
  maxImagesPerRequest: number;
  /** Largest output side of an OpenAI-style `size` and of the result's `?size=` (default 4096). */
  maxOutputSide: number;
  /**
   * Longest a request body may take to arrive (default 60 s); then `408 request_timeout` and the
   * connection is closed.
   */
  bodyTimeoutMs: number;
  /** Longest pause between two chunks of a request body (default 10 s); then as above. */
  bodyIdleMs: number;
  /**
   * Request bodies read at once (default 16); one more gets `503 busy` with `Retry-After`.
   * With `maxBodyBytes`, this bounds the memory that uploads hold.
   */
  maxUploads: number;
  /**
   * Decoded pixels held at once over every request and job in flight (default 4 x 4096 x 4096,
   * 268 MB of RGBA): edits running, results being resized and encoded, OpenAI masks. Work past
   * it waits in line; see `maxImageTasksWaiting`.
   */
  maxPixelsInFlight: number;
  /** Image tasks that may wait for the pixel budget (default 32); one more gets `503 busy`. */
  maxImageTasksWaiting: number;
  /** Bytes of re-encoded results (other formats and sizes) kept for reuse (default 64 MiB). */
  resultCacheBytes: number;
}

/** The job queue. Every field has a default. */
export interface QueueOptions {
  /** Jobs queued or running at once, over every process sharing the KV (default 16). */
  maxJobs: number;
  /** Longest a job may run once started (default 120 s); it then fails with `timeout`. */
  jobTimeoutMs: number;
  /** How long finished jobs and their results are kept (default 1 h). */
  resultTtlMs: number;
  /**
   * How long a worker's claim on a job lasts without renewal (default 10 s). A job whose
   * worker died is taken over by another (or the restarted) process after this long.
   */
  leaseMs: number;
  /** Runs a job may start before it fails for good (default 2: the first run and one retry). */
  maxAttempts: number;
  /** Longest `Prefer: wait` without a number waits before answering 202 (default 60 s). */
  maxWaitMs: number;
  /** How often a waiting client or an SSE stream rereads a job run by another process (500 ms). */
  pollMs: number;
}

/** A rate limit: at most `requests` submissions per client in any `windowMs`. */
export interface RateLimitOptions {
  /** Requests allowed per window (the bucket's size). */
  requests: number;
  /** The window in milliseconds (the bucket refills `requests` tokens over it). */
  windowMs: number;
}

/** Static content: the demo page and the built browser SDK. */
export interface StaticOptions {
  /**
   * Folder served at `/`. Default: the demo page inside this package (its `examples/web/`, from
   * disk, or from the registry for a package installed from JSR, each file read once). A folder
   * that is missing gives a small placeholder page with the API's links.
   */
  web?: string;
  /**
   * Folder of the built SDK, served at `/sdk/` (default `dist/sdk`). While it is missing, the
   * SDK is built from the package's sources on the first request into a temporary folder, also
   * for a package installed from JSR (needs `--allow-run`, `--allow-read`, `--allow-write`;
   * where subprocesses are not allowed, give a folder built with `deno task build:sdk` in a
   * checkout of the repository).
   */
  sdk?: string;
}

/** {@linkcode StaticOptions} resolved. */
export interface ResolvedStatic {
  /** The demo folder, or null for the package's own demo. */
  web: string | null;
  /** The SDK folder. */
  sdk: string;
}

/** Options of {@linkcode createApp}. Only `models` is required. */
export interface ServerOptions {
  /**
   * Model folders (or their manifest.json), as paths relative to the working directory or
   * `file:` URLs. The first is the default model of edit requests.
   */
  models: (string | URL)[];
  /**
   * The Deno KV that holds jobs and results: a path to a local file, a remote KV URL, `":memory:"`,
   * or an opened `Deno.Kv` (not closed by the app). Default `":memory:"`.
   */
  kv?: string | Deno.Kv;
  /** Device of the default engines (default "node", onnxruntime-node on the CPU). */
  device?: DeviceName;
  /**
   * Which weights the default engines load (see `DtypeRequest`; default `"auto"`): one weight
   * type for every model that offers it, or a record of component names to weight types.
   */
  dtype?: DtypeRequest;
  /** Makes the engine of a model; default `createEngine` in a Worker on `device`. */
  engine?: EngineFactory;
  /** Consume the job queue in this process (default true); false only accepts and serves. */
  worker?: boolean;
  /** Bearer API keys for the edit routes; none (the default) leaves them open. */
  apiKeys?: string[];
  /** Submissions per client (API key, else IP); `false` turns it off. Default 60 per minute. */
  rateLimit?: RateLimitOptions | false;
  /** Use the first `X-Forwarded-For` address as the client IP (behind a proxy). Default false. */
  trustProxy?: boolean;
  /**
   * Web origins (`https://app.example`) whose pages may call the edit routes (`/v1/edits...`,
   * `/v1/images/edits`) cross-origin. Default: `"*"` (any page) while the server has no API
   * keys, and none once it has keys, so that a key cannot be used from any web page; `"*"`
   * together with API keys is refused. Models, the SDK and the OpenAPI document are public to
   * every origin either way.
   */
  corsOrigins?: string[] | "*";
  /**
   * The server's public base URL (`https://edits.example.com`, or with a path prefix), from
   * which the absolute URLs it returns are built (`Location`, job `urls`, the OpenAI `url`, the
   * manifests of `/v1/models`, the links of the placeholder page). Default: none, and those URLs
   * are paths under {@linkcode ServerOptions.basePath}. The `Host` header is never used.
   */
  publicUrl?: string | URL;
  /**
   * The path the server is mounted at (`"/editmgt"`) when a parent app or a proxy strips it
   * from requests before the server sees them (`app.all("/editmgt/*", mount(server.fetch))`
   * with `mount` from `hono/mount`). The paths the server returns start with it. It starts with
   * `/`, has no trailing slash, query or fragment; with `publicUrl`, the public URL's path must
   * be this path. Default: none (the server answers at the root).
   */
  basePath?: string;
  /** Workers of the image pool, which encodes and resizes images (default 1 per 2 cores, 1-4). */
  imageWorkers?: number;
  /** Request limits. */
  limits?: Partial<ServerLimits>;
  /** Job queue settings. */
  queue?: Partial<QueueOptions>;
  /** Static folders. */
  static?: StaticOptions;
  /** Structured log sink; default JSON lines on stdout. */
  logger?: Logger;
  /**
   * Epoch milliseconds of the job store (creation, leases, result expiry); default `Date.now`.
   * Tests pass a clock they move instead of waiting.
   */
  clock?: () => number;
}

/** {@linkcode ServerOptions} with every default filled in. */
export interface ResolvedServerOptions {
  /** See {@linkcode ServerOptions.models}. */
  models: (string | URL)[];
  /** See {@linkcode ServerOptions.kv}. */
  kv: string | Deno.Kv;
  /** See {@linkcode ServerOptions.device}. */
  device: DeviceName;
  /** See {@linkcode ServerOptions.dtype}. */
  dtype: DtypeRequest;
  /** See {@linkcode ServerOptions.engine}. */
  engine?: EngineFactory;
  /** See {@linkcode ServerOptions.worker}. */
  worker: boolean;
  /** See {@linkcode ServerOptions.apiKeys}. */
  apiKeys: string[];
  /** See {@linkcode ServerOptions.rateLimit}. */
  rateLimit: RateLimitOptions | false;
  /** See {@linkcode ServerOptions.trustProxy}. */
  trustProxy: boolean;
  /** See {@linkcode ServerOptions.corsOrigins}: the resolved allowlist (empty: no origin). */
  corsOrigins: string[] | "*";
  /**
   * What the URLs the server returns start with, without a trailing slash: the public URL
   * ({@linkcode ServerOptions.publicUrl}), else the base path
   * ({@linkcode ServerOptions.basePath}), else "" (paths from the root).
   */
  urlBase: string;
  /** See {@linkcode ServerOptions.imageWorkers}. */
  imageWorkers: number;
  /** See {@linkcode ServerOptions.limits}. */
  limits: ServerLimits;
  /** See {@linkcode ServerOptions.queue}. */
  queue: QueueOptions;
  /** See {@linkcode ServerOptions.static}. */
  static: ResolvedStatic;
  /** See {@linkcode ServerOptions.logger}. */
  logger?: Logger;
  /** See {@linkcode ServerOptions.clock}. */
  clock: () => number;
}

/** The default limits. */
export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 20 * 1024 * 1024,
  maxImagePixels: 4096 * 4096,
  maxInstructionChars: MAX_PROMPT_CHARS,
  maxImagesPerRequest: 10,
  maxOutputSide: 4096,
  bodyTimeoutMs: 60_000,
  bodyIdleMs: 10_000,
  maxUploads: 16,
  maxPixelsInFlight: 4 * 4096 * 4096,
  maxImageTasksWaiting: 32,
  resultCacheBytes: 64 * 1024 * 1024,
};

/** The default queue settings. */
export const DEFAULT_QUEUE: QueueOptions = {
  maxJobs: 16,
  jobTimeoutMs: 120_000,
  resultTtlMs: 3_600_000,
  leaseMs: 10_000,
  maxAttempts: 2,
  maxWaitMs: 60_000,
  pollMs: 500,
};

/** The default rate limit: 60 submissions per minute per client. */
export const DEFAULT_RATE_LIMIT: RateLimitOptions = { requests: 60, windowMs: 60_000 };

/** `given` over `defaults`, where fields that are absent or undefined keep the default. */
function withDefaults<T extends object>(defaults: T, given: Partial<T> = {}): T {
  const defined = Object.entries(given).filter(([, value]) => value !== undefined);
  return { ...defaults, ...Object.fromEntries(defined) };
}

/** The CORS allowlist of the edit routes (see {@linkcode ServerOptions.corsOrigins}). */
function corsAllowlist(origins: string[] | "*" | undefined, apiKeys: string[]): string[] | "*" {
  if (origins === undefined) return apiKeys.length > 0 ? [] : "*";
  if (origins === "*" && apiKeys.length > 0) {
    throw new TypeError(
      'createApp: corsOrigins "*" with API keys would let any web page use a key; ' +
        'list the origins that may (corsOrigins: ["https://app.example"])',
    );
  }
  if (origins === "*") return origins;
  for (const origin of origins) {
    if (origin === "*" || new URL(origin).origin !== origin) {
      throw new TypeError(
        `createApp: corsOrigins must be origins such as https://app.example, got "${origin}"`,
      );
    }
  }
  return origins;
}

/**
 * What the returned URLs start with (see {@linkcode ResolvedServerOptions.urlBase}): the
 * public URL without its trailing slash, else the base path, else "". Checks both, and that
 * they agree.
 */
function urlBase(publicUrl: string | URL | undefined, basePath: string | undefined): string {
  if (basePath !== undefined && !/^(\/[^/?#]+)+$/.test(basePath)) {
    throw new TypeError(
      `createApp: basePath must be a path such as "/editmgt" (a leading slash, no trailing ` +
        `slash, no query), got "${basePath}"`,
    );
  }
  if (publicUrl === undefined || publicUrl === "") return basePath ?? "";
  const parsed = new URL(publicUrl);
  if (!/^https?:$/.test(parsed.protocol) || parsed.search !== "" || parsed.hash !== "") {
    throw new TypeError(
      `createApp: publicUrl must be an http(s) URL without query, got ${publicUrl}`,
    );
  }
  const base = parsed.href.replace(/\/+$/, "");
  const path = parsed.pathname.replace(/\/+$/, "");
  if (basePath !== undefined && path !== basePath) {
    throw new TypeError(
      `createApp: publicUrl ${publicUrl} has the path "${path || "/"}" but basePath is ` +
        `"${basePath}"; give publicUrl alone when a proxy in front changes the path`,
    );
  }
  return base;
}

/** Fills in the defaults of `options` and checks what cannot work. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  if (options.models.length === 0) {
    throw new TypeError("createApp: `models` needs at least one model folder");
  }
  const limits = withDefaults(DEFAULT_LIMITS, options.limits);
  const queue = withDefaults(DEFAULT_QUEUE, options.queue);
  for (const [name, value] of Object.entries({ ...limits, ...queue })) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new TypeError(`createApp: ${name} must be a positive number, got ${value}`);
    }
  }
  return {
    models: options.models,
    kv: options.kv ?? ":memory:",
    device: options.device ?? "node",
    dtype: options.dtype ?? "auto",
    engine: options.engine,
    worker: options.worker ?? true,
    apiKeys: options.apiKeys ?? [],
    rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    trustProxy: options.trustProxy ?? false,
    corsOrigins: corsAllowlist(options.corsOrigins, options.apiKeys ?? []),
    urlBase: urlBase(options.publicUrl, options.basePath),
    imageWorkers: options.imageWorkers ??
      Math.max(1, Math.min(4, Math.floor(navigator.hardwareConcurrency / 2))),
    limits,
    queue,
    static: { web: options.static?.web ?? null, sdk: options.static?.sdk ?? "dist/sdk" },
    logger: options.logger,
    clock: options.clock ?? Date.now,
  };
}
