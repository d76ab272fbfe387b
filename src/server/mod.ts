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
export type { ModelListEntry } from "./openapi/schemas.ts";
export {
  JOB_STATUSES,
  type JobErrorView,
  type JobResultSummary,
  type JobResultView,
  type JobStatus,
  type JobUrls,
  type JobView,
  JobViewSchema,
  type LocalizationView,
  type MapView,
  type ResultJson,
  ResultJsonSchema,
} from "../schema/job.ts";
export {
  OPENAI_MAX_IMAGES,
  type OpenAIEditFields,
  type OpenAIErrorBody,
  OpenAIErrorBodySchema,
  type OpenAIErrorType,
  type OpenAIImage,
  type OpenAIImagesResponse,
  OpenAIImagesResponseSchema,
  type OpenAIImagesUsage,
} from "./openai/schema.ts";
export { ROUTES } from "./routes.ts";
export type { RouteAccess, RouteDoc, RouteMethod, RouteSpec } from "./route.ts";
export { type OpenApiDocument, openApiDocument } from "./openapi/document.ts";
// The engine's, pipeline's and schemas' types, as the server's options and answers name them.
export type * from "../engine/mod.ts";
export type { SafeParseResult, Schema, SchemaIssue } from "../schema/schema.ts";
export {
  ErrorBodySchema,
  type HealthBody,
  HealthSchema,
  type ModelList,
  ModelListSchema,
} from "./openapi/schemas.ts";
