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
  /** Most images one OpenAI-style request may ask for with `n` (default 4). */
  maxImagesPerRequest: number;
  /** Largest output side of an OpenAI-style `size` (default 4096). */
  maxOutputSide: number;
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
  /** Folder served at `/` (default `examples/web`). */
  web?: string;
  /** Folder served at `/sdk/` (default `dist/sdk`). */
  sdk?: string;
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
  /** Origins allowed by CORS (default `"*"`). */
  corsOrigins?: string[] | "*";
  /** Request limits. */
  limits?: Partial<ServerLimits>;
  /** Job queue settings. */
  queue?: Partial<QueueOptions>;
  /** Static folders. */
  static?: StaticOptions;
  /** Structured log sink; default JSON lines on stdout. */
  logger?: Logger;
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
  /** See {@linkcode ServerOptions.corsOrigins}. */
  corsOrigins: string[] | "*";
  /** See {@linkcode ServerOptions.limits}. */
  limits: ServerLimits;
  /** See {@linkcode ServerOptions.queue}. */
  queue: QueueOptions;
  /** See {@linkcode ServerOptions.static}. */
  static: Required<StaticOptions>;
  /** See {@linkcode ServerOptions.logger}. */
  logger?: Logger;
}

/** The default limits. */
export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 20 * 1024 * 1024,
  maxImagePixels: 4096 * 4096,
  maxInstructionChars: MAX_PROMPT_CHARS,
  maxImagesPerRequest: 4,
  maxOutputSide: 4096,
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
    corsOrigins: options.corsOrigins ?? "*",
    limits,
    queue,
    static: { web: "examples/web", sdk: "dist/sdk", ...options.static },
    logger: options.logger,
  };
}
