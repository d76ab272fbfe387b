/**
 * The zod schemas of what the API takes and answers, beside the shared ones of `src/schema`
 * (edit options and request, manifest). The OpenAPI document is generated from them, and the
 * tests check real responses against them, so document and behaviour cannot drift apart. They
 * are exported as the package's `Schema<T>` interface; {@linkcode SERVER_SCHEMAS} holds the zod
 * objects for the document generator.
 *
 * @module
 */

import { z } from "zod";
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from "../../errors/mod.ts";
import { COMPONENT_DTYPES } from "../../schema/manifest.ts";
import type { Schema } from "../../schema/schema.ts";
import type { JobView } from "../edits/present.ts";
import type { ModelListEntry } from "../models/routes.ts";
import type { OpenAIImagesResponse } from "../openai/routes.ts";

const codes = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

const ErrorSchema = z.object({
  code: z.enum(codes).describe("stable error code"),
  message: z.string().describe("what was wrong and what to do"),
});

const errorBody = z.object({
  error: ErrorSchema.extend({
    details: z.record(z.string(), z.unknown()).optional().describe("machine-readable details"),
  }),
});

const MapSchema = z.object({
  width: z.int().min(1),
  height: z.int().min(1),
  data: z.array(z.number()).describe("width * height values, row-major"),
});

const JobObjectSchema = z.object({
  id: z.string().regex(/^[0-9a-z]{25}$/),
  object: z.literal("edit"),
  model: z.string(),
  status: z.enum(["queued", "running", "completed", "failed", "cancelled"]),
  instruction: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime().describe(
    "last change; a running job's worker renews it every few seconds, so one older than the " +
      "lease (10 s by default) means the worker is gone and the job will run again",
  ),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  expiresAt: z.iso.datetime().optional(),
  attempts: z.int().min(0).describe("runs started (a run interrupted by a restart is retried)"),
  position: z.int().min(0).optional().describe("queued or running jobs ahead, while queued"),
  progress: z.object({ index: z.int().min(0), total: z.int().min(1) }).optional(),
  cancelRequested: z.boolean().optional(),
  error: ErrorSchema.optional(),
  result: z.object({
    seed: z.int().min(0),
    width: z.int().min(1),
    height: z.int().min(1),
    device: z.enum(["node", "wasm", "webgpu"]),
    dtypes: z.record(z.string(), z.enum(COMPONENT_DTYPES)).optional().describe(
      "the weight type each graph component ran with, by component name",
    ),
    timings: z.object({
      textMs: z.number(),
      encodeMs: z.number(),
      stepsMs: z.number(),
      decodeMs: z.number(),
      compositeMs: z.number(),
      totalMs: z.number(),
    }),
    localization: MapSchema.extend({ lambda: z.number() }).optional().describe(
      "localization map on the transformer grid, values in [0, 1], with the lambda used",
    ),
    mask: MapSchema.optional().describe("VQ-grid tokens the edit could change (1) or kept (0)"),
  }).optional(),
  urls: z.object({ self: z.string(), events: z.string(), cancel: z.string(), result: z.string() }),
});

const resultJson = JobObjectSchema.extend({
  image: z.object({ contentType: z.literal("image/png"), base64: z.string() }),
});

/** The image part of a JSON result. */
export interface ResultImage {
  /** The image. */
  image: { contentType: "image/png"; base64: string };
}

/** `POST /v1/edits` as multipart/form-data. */
const editMultipartBody = z.object({
  image: z.file().describe("the source image (PNG, JPEG or WebP)"),
  mask: z.file().optional().describe(
    "inpainting mask of the image's size: bright opaque pixels are regenerated",
  ),
  instruction: z.string().min(1).describe("what to change"),
  model: z.string().optional().describe("model id; the default model when absent"),
  options: z.string().optional().describe("JSON text of EditOptions"),
});

/** `POST /v1/images/edits` (OpenAI-compatible), multipart/form-data. */
const openAIEditBody = z.object({
  image: z.file().describe("the image to edit (image[] with one file is accepted too)"),
  prompt: z.string().min(1).describe("the instruction"),
  mask: z.file().optional().describe("same size; alpha 0 marks where to edit"),
  model: z.string().optional().describe("a served model id; OpenAI names get the default"),
  n: z.string().optional().describe("number of images (integer as text)"),
  size: z.string().optional().describe('"auto" or WIDTHxHEIGHT of the output'),
  response_format: z.enum(["b64_json", "url"]).optional().describe("default b64_json"),
  output_format: z.enum(["png", "jpeg", "webp"]).optional(),
  output_compression: z.string().optional().describe("JPEG/WebP quality 0-100"),
  options: z.string().optional().describe("extension: JSON text of EditOptions"),
});

const openAIImagesResponse = z.object({
  created: z.int(),
  data: z.array(z.object({
    b64_json: z.string().optional(),
    url: z.string().optional(),
    revised_prompt: z.string().optional(),
  })),
  output_format: z.enum(["png", "jpeg", "webp"]),
  size: z.string(),
});

const modelList = z.object({
  object: z.literal("list"),
  data: z.array(z.object({
    id: z.string(),
    object: z.literal("model"),
    version: z.string(),
    license: z.string(),
    resolution: z.object({ width: z.int(), height: z.int() }),
    manifest: z.string().describe("path of the manifest on this server"),
  })),
});

const health = z.object({
  status: z.enum(["ok", "ready", "starting", "failed"]),
  models: z.array(z.object({
    id: z.string(),
    engine: z.enum(["loading", "ready", "failed", "none"]),
    error: z.string().optional(),
  })).optional(),
});

/** Body of the health routes. */
export interface HealthBody {
  /** `ok` (alive), `ready`, `starting` or `failed`. */
  status: "ok" | "ready" | "starting" | "failed";
  /** Per model: the engine's state (`none` where this process runs no jobs). */
  models?: { id: string; engine: "loading" | "ready" | "failed" | "none"; error?: string }[];
}

/** The body of `GET /v1/models`. */
export interface ModelList {
  /** Always "list". */
  object: "list";
  /** The served models. */
  data: ModelListEntry[];
}

/** `{ error: { code, message, details? } }`, the body of every error. */
export const ErrorBodySchema: Schema<ErrorBody> = errorBody as Schema<ErrorBody>;
/** A job as clients see it (`GET /v1/edits/:id`, the 202 answer). */
export const JobViewSchema: Schema<JobView> = JobObjectSchema as Schema<JobView>;
/** `GET /v1/edits/:id/result?format=json` and the waited answer: the job with its image. */
export const ResultJsonSchema: Schema<JobView & ResultImage> = resultJson as Schema<
  JobView & ResultImage
>;
/** The body of the OpenAI-compatible endpoint's answer. */
export const OpenAIImagesResponseSchema: Schema<OpenAIImagesResponse> = openAIImagesResponse;
/** The body of `GET /v1/models`. */
export const ModelListSchema: Schema<ModelList> = modelList;
/** The body of `GET /healthz` and `GET /readyz`. */
export const HealthSchema: Schema<HealthBody> = health;

/** OpenAPI component names of the server's own schemas. */
export type ServerSchemaName =
  | "ErrorBody"
  | "EditMultipartBody"
  | "Job"
  | "ResultJson"
  | "OpenAIEditBody"
  | "OpenAIImagesResponse"
  | "ModelList"
  | "Health";

/** The zod objects by OpenAPI component name, for the document generator. */
export const SERVER_SCHEMAS: Record<ServerSchemaName, z.ZodType> = {
  ErrorBody: errorBody,
  EditMultipartBody: editMultipartBody,
  Job: JobObjectSchema,
  ResultJson: resultJson,
  OpenAIEditBody: openAIEditBody,
  OpenAIImagesResponse: openAIImagesResponse,
  ModelList: modelList,
  Health: health,
};
