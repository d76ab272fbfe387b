/**
 * What the job queue stores in Deno KV, and where (the key layout). Every key starts with
 * `"editmgt"` so the app can share a KV with others.
 *
 * @module
 */

import type { ErrorCode } from "../../errors/mod.ts";
import type { ImageFormat } from "../../image/types.ts";
import type { JobResultSummary, JobStatus } from "../../schema/job.ts";
import type { EditOptions } from "../../schema/options.ts";

/** Whether `status` is final. */
export function isFinal(status: JobStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/** Why a job failed (or was cancelled). */
export interface JobError {
  /** Stable error code. */
  code: ErrorCode;
  /** What happened. */
  message: string;
}

/** The source image of a job, as its header said. */
export interface JobSource {
  /** Container format. */
  format: ImageFormat;
  /** Width in pixels (after EXIF orientation). */
  width: number;
  /** Height in pixels (after EXIF orientation). */
  height: number;
}

/** A worker's claim on a job. */
export interface JobLease {
  /** The worker (one per process). */
  owner: string;
  /** Epoch milliseconds after which another worker may take the job over. */
  until: number;
}

/** One edit job as stored. */
export interface JobRecord {
  /** Job id: creation time and randomness, lowercase base 36, sortable by creation. */
  id: string;
  /** Model id. */
  model: string;
  /** Where it is in its life. */
  status: JobStatus;
  /** The instruction. */
  instruction: string;
  /** The sampler options as given. */
  options: EditOptions;
  /** Whether an inpainting mask came with it. */
  hasMask: boolean;
  /** The source image. */
  source: JobSource;
  /** Epoch milliseconds of creation. */
  createdAt: number;
  /** Epoch milliseconds of the last change. */
  updatedAt: number;
  /** Epoch milliseconds the last run started. */
  startedAt?: number;
  /** Epoch milliseconds it became final. */
  finishedAt?: number;
  /** Epoch milliseconds after which the job and its result are gone. */
  expiresAt?: number;
  /** Number of the queue message allowed to run it (bumped when the job is re-enqueued). */
  delivery: number;
  /** Runs started so far. */
  attempts: number;
  /** The worker holding it, while one does. */
  lease?: JobLease;
  /** Cancellation was asked for while it ran. */
  cancelRequested?: boolean;
  /** Why it failed or was cancelled. */
  error?: JobError;
  /** What it produced. */
  result?: JobResultSummary;
}

/** Decoding progress of a running job. */
export interface JobProgress {
  /** 1-based number of the last finished step. */
  index: number;
  /** Number of steps. */
  total: number;
  /** Step index of the latest stored preview image, if any. */
  preview?: number;
}

/** The maps of a completed job. */
export interface JobResultMaps {
  /** Localization map on the transformer grid, in [0, 1], with the lambda used. */
  localization: { width: number; height: number; lambda: number; data: Float32Array };
  /** VQ-grid tokens the edit could change (1) or kept (0). */
  mask: { width: number; height: number; data: Uint8Array };
}

/** The message put on the KV queue for a job. */
export interface JobMessage {
  /** Marks messages of this app (the KV may carry others). */
  type: "editmgt-job";
  /** Job id. */
  id: string;
  /** Must equal the job's `delivery` to run it; older messages are stale and dropped. */
  delivery: number;
}

/** Whether a queue message is a {@linkcode JobMessage}. */
export function isJobMessage(value: unknown): value is JobMessage {
  const message = value as Partial<JobMessage> | null;
  return message?.type === "editmgt-job" && typeof message.id === "string" &&
    typeof message.delivery === "number";
}

/** The KV keys of the queue. */
export const KEYS = {
  /** A job's record. */
  job: (id: string): Deno.KvKey => ["editmgt", "job", id],
  /** Present while a job is queued or running: counts against the queue limit. */
  active: (id: string): Deno.KvKey => ["editmgt", "active", id],
  /** Prefix of every `active` key (listing it gives the queue in creation order). */
  activePrefix: ["editmgt", "active"] as Deno.KvKey,
  /** Changed by every admission, so admissions from several processes serialize. */
  gate: ["editmgt", "gate"] as Deno.KvKey,
  /** A running job's progress. */
  progress: (id: string): Deno.KvKey => ["editmgt", "progress", id],
  /** A completed job's maps. */
  maps: (id: string): Deno.KvKey => ["editmgt", "maps", id],
  /** A stored byte blob of a job: "image", "mask", "result", "preview". */
  blob: (id: string, name: string): Deno.KvKey => ["editmgt", "blob", id, name],
  /** Prefix of every blob of a job. */
  blobs: (id: string): Deno.KvKey => ["editmgt", "blob", id],
};

/** Job ids: 9 base-36 digits of creation time, then 16 random ones. */
export const JOB_ID = /^[0-9a-z]{25}$/;

/** A new job id, sortable by creation time. */
export function newJobId(now: number = Date.now()): string {
  const random = crypto.getRandomValues(new Uint8Array(16));
  return now.toString(36).padStart(9, "0") +
    Array.from(random, (byte) => (byte % 36).toString(36)).join("");
}
