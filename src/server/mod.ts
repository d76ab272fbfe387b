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
  type ResolvedServerOptions,
  resolveServerOptions,
  type ServerLimits,
  type ServerOptions,
  type StaticOptions,
} from "./options.ts";
export type { ServerBindings, ServerEnv, ServerVariables } from "./context.ts";
export { apiKeyAuth, clientAddress, sha256Hex } from "./auth/index.ts";
export {
  jsonLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  requestLog,
} from "./logging/index.ts";
export { RateLimiter } from "./limits/rate_limit.ts";
export { type ByteRange, parseRange } from "./models/range.ts";
export { type Representation, respondWithRepresentation } from "./models/respond.ts";
export {
  isContentHashedName,
  loadServedModels,
  type LoadServedModelsOptions,
  type ServedFile,
  type ServedModel,
} from "./models/registry.ts";
export { type ModelListEntry } from "./models/routes.ts";
export { decodeBase64Image } from "./edits/images.ts";
export { preferredWaitMs } from "./edits/prefer.ts";
export { parseSize } from "./edits/size.ts";
export type { JobResultView, JobUrls, JobView, MapView } from "./edits/present.ts";
export { JobChanges } from "./jobs/changes.ts";
export { Slot } from "./jobs/slot.ts";
export { JobStore, type JobSubmission } from "./jobs/store.ts";
export type { JobError, JobProgress, JobRecord, JobStatus } from "./jobs/types.ts";
export { maskFromAlpha, type OpenAIImage, type OpenAIImagesResponse } from "./openai/routes.ts";
export { type OpenApiDocument, openApiDocument } from "./openapi/document.ts";
export {
  ErrorBodySchema,
  type HealthBody,
  HealthSchema,
  JobViewSchema,
  ModelListSchema,
  OpenAIImagesResponseSchema,
  ResultJsonSchema,
} from "./openapi/schemas.ts";
