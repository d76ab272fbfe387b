/**
 * `createApp`: the Hono app of the edge server. It serves the demo page, the browser SDK, the
 * models (manifests and files) and the edit API, with jobs in Deno KV.
 *
 * @module
 */

import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { Engine } from "../engine/engine.ts";
import { createEngine } from "../engine/deno.ts";
import { EditMGTError } from "../errors/mod.ts";
import { apiKeyAuth } from "./auth/index.ts";
import type { ServerBindings, ServerEnv } from "./context.ts";
import { editRoutes } from "./edits/routes.ts";
import { handleError } from "./errors.ts";
import { healthRoutes } from "./health/index.ts";
import { JobChanges } from "./jobs/changes.ts";
import { JobStore } from "./jobs/store.ts";
import { JobWorker } from "./jobs/worker.ts";
import { PixelBudget } from "./images/budget.ts";
import { EncodedCache } from "./images/cache.ts";
import { ImagePool } from "./images/pool.ts";
import { bufferBody, UploadGate } from "./limits/body.ts";
import { rateLimit, RateLimiter } from "./limits/rate_limit.ts";
import { jsonLogger, type Logger, requestLog } from "./logging/index.ts";
import { methodNotAllowed } from "./methods/index.ts";
import { loadServedModels } from "./models/registry.ts";
import { modelRoutes } from "./models/routes.ts";
import { openApiRoutes } from "./openapi/document.ts";
import { openAIRoutes } from "./openai/routes.ts";
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from "./options.ts";
import { type RouteAccess, routePaths } from "./route.ts";
import { ROUTES } from "./routes.ts";
import type { EngineReadiness, ServerServices, ServicesGetter } from "./services.ts";
import { staticRoutes } from "./static/index.ts";
import { PackageDemo } from "./static/package_demo.ts";
import { SdkBuild } from "./static/sdk.ts";

/** What `createApp` adds to the Hono app: start-up and shut-down. */
export interface ServerLifecycle {
  /** Resolves when models, KV and engines are loaded; rejects when start-up failed. */
  readonly ready: Promise<void>;
  /**
   * Stops the job worker (jobs it holds go back to the queue), disposes the engines and closes
   * the KV it opened. Serve nothing after it.
   */
  close(): Promise<void>;
}

/**
 * The app `createApp` returns: a Hono app, typed by what callers use (its fetch handler, and
 * `request` to call it without a server) and {@linkcode ServerLifecycle}. Its type does not
 * expose Hono's, so a Hono upgrade changes nothing here; to serve it under another Hono app,
 * create it with `basePath: "/editmgt"` and mount its handler there:
 * `parent.all("/editmgt/*", mount(server.fetch))` (`mount` from `hono/mount`).
 */
export interface EditServer extends ServerLifecycle {
  /**
   * Answers one request; a bound function, to pass as is: `Deno.serve(server.fetch)`. The
   * second argument (what `Deno.serve` gives) tells the client's address to client ids.
   */
  readonly fetch: (request: Request, bindings?: ServerBindings) => Response | Promise<Response>;
  /**
   * Answers a request made in process, with no server: `input` is a path (`"/v1/models"`), a
   * URL or a `Request`, `init` as for `fetch`. For tests and scripts.
   */
  readonly request: (
    input: RequestInfo | URL,
    init?: RequestInit,
    bindings?: ServerBindings,
  ) => Response | Promise<Response>;
}

/** Headers that expose what browsers may read cross-origin. */
const EXPOSED_HEADERS = [
  "Accept-Ranges",
  "Content-Length",
  "Content-Range",
  "ETag",
  "Location",
  "Preference-Applied",
  "Retry-After",
  "X-Edit-Seed",
  "X-Request-Id",
];

async function start(options: ResolvedServerOptions, log: Logger): Promise<ServerServices> {
  const models = await loadServedModels(options.models);
  const kv = typeof options.kv === "string" ? await Deno.openKv(options.kv) : options.kv;
  const store = new JobStore(kv, options.queue, new JobChanges(), options.clock);
  const { limits } = options;
  const budget = new PixelBudget({
    pixels: limits.maxPixelsInFlight,
    maxWaiting: limits.maxImageTasksWaiting,
    maxWaitMs: options.queue.maxWaitMs,
  });
  const images = new ImagePool({ workers: options.imageWorkers, budget });
  const engines = new Map<string, Engine>();
  const readiness = new Map<string, EngineReadiness>();
  let worker: JobWorker | null = null;
  if (options.worker) {
    for (const model of models.values()) {
      const engine = options.engine?.(model) ??
        createEngine({ manifest: model.manifestUrl, device: options.device, dtype: options.dtype });
      engines.set(model.id, engine);
      readiness.set(model.id, { state: "loading" });
      engine.ready.then(
        () => {
          readiness.set(model.id, { state: "ready" });
          log({ level: "info", msg: "engine ready", model: model.id });
        },
        (error) => {
          readiness.set(model.id, { state: "failed", error: String(error?.message ?? error) });
          log({ level: "error", msg: "engine failed to load", model: model.id, error });
        },
      );
    }
    worker = new JobWorker({
      store,
      engineFor: (model) => engines.get(model),
      queue: options.queue,
      budget,
      images,
      log,
    });
    worker.start();
  }
  log({ level: "info", msg: "server started", models: [...models.keys()], worker: options.worker });
  return {
    options,
    models,
    defaultModel: models.keys().next().value!,
    engines,
    readiness,
    store,
    worker,
    budget,
    images,
    results: new EncodedCache(limits.resultCacheBytes),
    log,
  };
}

/** The paths of the route table's routes with `access`. */
const withAccess = (access: RouteAccess) => routePaths(ROUTES, (route) => route.access === access);

/**
 * The middleware the routes share, placed by the route table ({@linkcode ROUTES}): request ids,
 * client ids, request logs and secure headers everywhere; CORS (every origin on the public
 * routes, the `corsOrigins` allowlist on the edit routes) and CORP on both; API keys on the edit
 * routes; the rate limit and the body reader on the submissions.
 */
function useMiddleware(app: Hono<ServerEnv>, options: ResolvedServerOptions, log: Logger): void {
  app.use(requestId());
  app.use(async (c, next) => {
    c.set("clientId", `ip:${c.env?.remoteAddr?.hostname ?? "unknown"}`);
    await next();
  });
  app.use(requestLog(log));
  app.use(secureHeaders({
    crossOriginResourcePolicy: false,
    crossOriginOpenerPolicy: false,
    strictTransportSecurity: false,
  }));
  const crossOrigin = (origin: string[] | "*") =>
    cors({
      origin,
      allowMethods: ["GET", "HEAD", "POST", "OPTIONS"],
      allowHeaders: [
        "Authorization",
        "Content-Type",
        "If-None-Match",
        "If-Range",
        "Prefer",
        "Range",
        "X-Request-Id",
      ],
      exposeHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  for (const { path, errorBody } of ROUTES) {
    if (errorBody === undefined) continue;
    app.use(path, async (c, next) => {
      c.set("errorBody", errorBody);
      await next();
    });
  }
  const publicPaths = withAccess("public");
  const editPaths = withAccess("edit");
  for (const path of publicPaths) app.use(path, crossOrigin("*"));
  if (options.corsOrigins === "*" || options.corsOrigins.length > 0) {
    for (const path of editPaths) app.use(path, crossOrigin(options.corsOrigins));
  }
  const crossOriginResource = createMiddleware<ServerEnv>(async (c, next) => {
    c.header("Cross-Origin-Resource-Policy", "cross-origin");
    await next();
  });
  for (const path of [...publicPaths, ...editPaths]) app.use(path, crossOriginResource);
  const auth = apiKeyAuth({ apiKeys: options.apiKeys, trustProxy: options.trustProxy });
  for (const path of editPaths) app.use(path, auth);
  const submissions = routePaths(ROUTES, (route) => route.submission === true);
  if (options.rateLimit !== false) {
    app.on("POST", submissions, rateLimit(new RateLimiter(options.rateLimit)));
  }
  const { maxBodyBytes, bodyTimeoutMs, bodyIdleMs, maxUploads } = options.limits;
  app.on(
    "POST",
    submissions,
    bufferBody(
      { maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs, idleMs: bodyIdleMs },
      new UploadGate(maxUploads),
    ),
  );
}

/**
 * Throws `backend_unavailable` when the app would open a KV but this Deno has no KV: the
 * flag `--unstable-kv` (or `"unstable": ["kv"]` in deno.json) is missing.
 */
function assertKvAvailable(kv: string | Deno.Kv): void {
  if (typeof kv !== "string" || typeof Deno.openKv === "function") return;
  throw new EditMGTError(
    "backend_unavailable",
    "createApp: the job queue needs Deno KV, which this Deno process does not have " +
      '(Deno.openKv is missing): run it with --unstable-kv, or add "unstable": ["kv"] to ' +
      "deno.json (or pass an opened Deno.Kv as the kv option)",
  );
}

/**
 * Creates the server app. Start-up (loading manifests, opening the KV, loading engines) runs
 * in the background; requests wait for it, and `/readyz` tells when it is done.
 *
 * @throws {TypeError} for options that cannot work; {@linkcode EditMGTError}
 * `backend_unavailable` without Deno KV (the flag `--unstable-kv`).
 *
 * @example
 * ```ts
 * import { createApp } from "@editmgt/editmgt/server";
 *
 * const app = createApp({ models: ["models/editmgt-tiny"], kv: ".editmgt/jobs.sqlite3" });
 * const server = Deno.serve({ port: 8000 }, app.fetch);
 * // ... later:
 * await server.shutdown();
 * await app.close();
 * ```
 */
export function createApp(options: ServerOptions): EditServer {
  const resolved = resolveServerOptions(options);
  assertKvAvailable(resolved.kv);
  const log = resolved.logger ?? jsonLogger();
  let settled = false;
  const startup = start(resolved, log).finally(() => (settled = true));
  startup.catch((error) => log({ level: "error", msg: "start-up failed", error }));
  const services: ServicesGetter = () =>
    startup.catch((cause) => {
      throw new EditMGTError(
        "backend_unavailable",
        `the server could not start: ${cause?.message ?? cause}`,
        { cause },
      );
    });

  const app = new Hono<ServerEnv>();
  app.onError(handleError(log));
  app.notFound(methodNotAllowed(app));
  useMiddleware(app, resolved, log);
  app.route("/", healthRoutes(services, () => settled));
  app.route("/", modelRoutes(services));
  app.route("/", editRoutes(services));
  app.route("/", openAIRoutes(services));
  app.route("/", openApiRoutes());
  const sdkBuild = new SdkBuild({ missing: resolved.static.sdk, log });
  app.route(
    "/",
    staticRoutes({
      folders: resolved.static,
      base: resolved.urlBase,
      sdkBuild,
      demo: new PackageDemo(),
      log,
    }),
  );

  const ready = startup.then(() => {});
  ready.catch(() => {});
  return Object.assign(app, {
    ready,
    async close() {
      await sdkBuild.close();
      const s = await startup.catch(() => null);
      if (s === null) return;
      await s.worker?.stop();
      s.images.close();
      await Promise.allSettled([...s.engines.values()].map((engine) => engine.dispose()));
      if (typeof resolved.kv === "string") s.store.kv.close();
    },
  });
}
