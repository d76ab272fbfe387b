/**
 * The edge server: a Hono app (`createApp`) that serves the demo page, the browser SDK, model
 * manifests and files (ranges, strong ETags, CORS/CORP), and an edit API whose jobs live in
 * Deno KV (`POST /v1/edits`, SSE progress, cancel, results; `POST /v1/images/edits` compatible
 * with OpenAI's). Needs `--unstable-kv` (or `"unstable": ["kv"]` in deno.json).
 *
 * @example
 * ```ts
 * import { createApp } from "@editmgt/editmgt/server";
 *
 * const app = createApp({ models: ["models/editmgt-tiny"], kv: ".editmgt/jobs.sqlite3" });
 * await app.ready;
 * const response = await app.request("/v1/models");
 * console.log(await response.json());
 * await app.close();
 * ```
 *
 * @module
 */

export { createApp, type EditServer, type ServerLifecycle } from "./app.ts";
export {
  DEFAULT_LIMITS,
  DEFAULT_QUEUE,
  DEFAULT_RATE_LIMIT,
  type EngineFactory,
  type QueueOptions,
  type RateLimitOptions,
  type ServerLimits,
  type ServerOptions,
  type StaticOptions,
} from "./options.ts";
export type { ServerBindings, ServerEnv, ServerVariables } from "./context.ts";
export { jsonLogger, type Logger, type LogLevel, type LogRecord } from "./logging/index.ts";
export type { ServedFile, ServedModel } from "./models/registry.ts";
export type { ModelListEntry } from "./models/routes.ts";
export type { JobResultView, JobUrls, JobView, MapView } from "./edits/present.ts";
export type { JobResultSummary, JobStatus } from "./jobs/types.ts";
export type { OpenAIImage, OpenAIImagesResponse } from "./openai/routes.ts";
export { type OpenApiDocument, openApiDocument } from "./openapi/document.ts";
export {
  ErrorBodySchema,
  type HealthBody,
  HealthSchema,
  JobViewSchema,
  type ModelList,
  ModelListSchema,
  OpenAIImagesResponseSchema,
  type ResultImage,
  ResultJsonSchema,
} from "./openapi/schemas.ts";
