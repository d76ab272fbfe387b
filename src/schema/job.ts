/**
 * The job wire format of the edit API, defined once: the JSON of a job (`GET /v1/edits/:id`,
 * the 202 answer of `POST /v1/edits`) and of a result with its image
 * (`GET /v1/edits/:id/result?format=json`). The server builds values of these types, the SDK's
 * remote device reads them, and the OpenAPI document is generated from the zod schemas.
 *
 * The zod schemas are the definition. The interfaces beside them are their documented
 * TypeScript face (JSR needs explicit types in a public API, so `z.infer` cannot be exported);
 * {@linkcode exactSchema} makes `deno check` fail when a schema's output and its interface
 * differ in any field, in either direction.
 *
 * @module
 */

import { z } from "zod";
import { ERROR_STATUS, type ErrorCode } from "../errors/mod.ts";
import { DEVICE_NAMES, type DeviceName } from "./devices.ts";
import { COMPONENT_DTYPES, type ComponentDtype } from "./manifest.ts";
import { exactSchema } from "./exact.ts";
import type { Schema } from "./schema.ts";

/** Where a job is in its life, in order; the last three are final. */
export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;

/** Where a job is in its life (see {@linkcode JOB_STATUSES}). */
export type JobStatus = typeof JOB_STATUSES[number];

/** The URLs of a job. */
export interface JobUrls {
  /** The job (GET). */
  self: string;
  /** Its server-sent events (GET). */
  events: string;
  /** Cancels it (POST). */
  cancel: string;
  /** Its image once completed (GET; `?format=png|jpeg|webp|json`). */
  result: string;
}

const jobUrls = z.object({
  self: z.string().describe("the job (GET)"),
  events: z.string().describe("its server-sent events (GET)"),
  cancel: z.string().describe("cancels it (POST)"),
  result: z.string().describe("its image once completed (GET; ?format=png|jpeg|webp|json)"),
});

/** A localization or token map as JSON. */
export interface MapView {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** `width * height` values, row-major. */
  data: number[];
}

const mapView = z.object({
  width: z.int().min(1),
  height: z.int().min(1),
  data: z.array(z.number()).describe("width * height values, row-major"),
});

/** The localization map of an edit, with the lambda its region hold used. */
export interface LocalizationView extends MapView {
  /** The region-hold threshold used. */
  lambda: number;
}

/** Milliseconds spent in each phase of an edit (the pipeline measures them, jobs report them). */
export interface EditTimings {
  /** Tokenizing and encoding the instruction (and the negative prompt, when not cached). */
  textMs: number;
  /** Decoding checks, resizing and VQ-encoding the source. */
  encodeMs: number;
  /** The sampler loop (every transformer step, previews included). */
  stepsMs: number;
  /** VQ-decoding the tokens. */
  decodeMs: number;
  /** Compositing (or resizing the raw decode) back to the source's size. */
  compositeMs: number;
  /** The whole edit. */
  totalMs: number;
}

/** What a completed job produced, besides the image and the maps (as the job store keeps it). */
export interface JobResultSummary {
  /** The seed that produced the image. */
  seed: number;
  /** Output width (the source's). */
  width: number;
  /** Output height (the source's). */
  height: number;
  /** The device the model ran on. */
  device: DeviceName;
  /** The weight type each graph component ran with, by component name. */
  dtypes?: Record<string, ComponentDtype>;
  /** Milliseconds per phase. */
  timings: EditTimings;
}

/** What a completed job produced, besides the image. */
export interface JobResultView extends JobResultSummary {
  /**
   * Localization map with the lambda used (values in [0, 1]): the change map on the VQ token grid,
   * or the attention map on the transformer grid (option `mapSource`).
   */
  localization?: LocalizationView;
  /** VQ-grid tokens the edit could change (1) or kept (0). */
  mask?: MapView;
}

const jobResult = z.object({
  seed: z.int().min(0),
  width: z.int().min(1),
  height: z.int().min(1),
  device: z.enum(DEVICE_NAMES),
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
  localization: mapView.extend({ lambda: z.number() }).optional().describe(
    "localization map (the change map on the token grid), values in [0, 1], with the lambda used",
  ),
  mask: mapView.optional().describe("VQ-grid tokens the edit could change (1) or kept (0)"),
});

/** Why a job failed or was cancelled. */
export interface JobErrorView {
  /** Stable error code. */
  code: ErrorCode;
  /** What was wrong and what to do. */
  message: string;
}

const errorCodes = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** `{ code, message }` of an error; the error body and jobs carry it. */
const jobError = z.object({
  code: z.enum(errorCodes).describe("stable error code"),
  message: z.string().describe("what was wrong and what to do"),
});

/** A job as clients see it. */
export interface JobView {
  /** Job id. */
  id: string;
  /** Always "edit". */
  object: "edit";
  /** Model id. */
  model: string;
  /** Where it is in its life. */
  status: JobStatus;
  /** The instruction. */
  instruction: string;
  /** ISO time of creation. */
  createdAt: string;
  /**
   * ISO time of the last change. While a job runs, its worker renews it every third of the
   * lease; a running job whose `updatedAt` is older than the lease has lost its worker (the
   * process died) and goes back to the queue once the lease runs out.
   */
  updatedAt: string;
  /** ISO time the last run started. */
  startedAt?: string;
  /** ISO time it became final. */
  finishedAt?: string;
  /** ISO time after which it is gone. */
  expiresAt?: string;
  /** Runs started. */
  attempts: number;
  /** Jobs ahead of it, while queued. */
  position?: number;
  /** Steps done, while running. */
  progress?: { index: number; total: number };
  /** A cancellation is on its way to the worker. */
  cancelRequested?: boolean;
  /** Why it failed or was cancelled. */
  error?: JobErrorView;
  /** What it produced. */
  result?: JobResultView;
  /** Where to follow it. */
  urls: JobUrls;
}

const job = z.object({
  id: z.string().regex(/^[0-9a-z]{25}$/),
  object: z.literal("edit"),
  model: z.string(),
  status: z.enum(JOB_STATUSES),
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
  error: jobError.optional(),
  result: jobResult.optional(),
  urls: jobUrls,
});

/** A completed job with its image: the JSON of a result. */
export interface ResultJson extends JobView {
  /** The image. */
  image: { contentType: "image/png"; base64: string };
}

const resultJson = job.extend({
  image: z.object({ contentType: z.literal("image/png"), base64: z.string() }),
});

/** Schema of {@linkcode JobErrorView}, the `{ code, message }` that error bodies extend. */
export const JobErrorSchema: Schema<JobErrorView> = exactSchema<JobErrorView, typeof jobError>(
  jobError,
);
/** Schema of {@linkcode JobView}: a job (`GET /v1/edits/:id`, the 202 answer). */
export const JobViewSchema: Schema<JobView> = exactSchema<JobView, typeof job>(job);
/** Schema of {@linkcode ResultJson}: `GET /v1/edits/:id/result?format=json`, a waited answer. */
export const ResultJsonSchema: Schema<ResultJson> = exactSchema<ResultJson, typeof resultJson>(
  resultJson,
);

/**
 * The zod objects of the job wire format by OpenAPI component name, for the server's OpenAPI
 * document and its error body. Not exported by the package entry (zod's types stay private).
 */
export const JOB_WIRE_SCHEMAS = { Job: job, ResultJson: resultJson, JobError: jobError };
