/**
 * How jobs look to clients: the JSON of a job (`GET /v1/edits/:id`, the 202 answer) and of a
 * result, with the URLs to follow.
 *
 * @module
 */

import type { ErrorCode } from "../../errors/mod.ts";
import type { JobSnapshot } from "../jobs/watch.ts";
import type { JobResultMaps, JobResultSummary, JobStatus } from "../jobs/types.ts";

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

/** A localization or token map as JSON. */
export interface MapView {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** `width * height` values, row-major. */
  data: number[];
}

/** The result part of a completed job. */
export interface JobResultView extends JobResultSummary {
  /** Localization map on the transformer grid with the lambda used (values in [0, 1]). */
  localization?: MapView & { lambda: number };
  /** VQ-grid tokens the edit could change (1) or kept (0). */
  mask?: MapView;
}

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
  error?: { code: ErrorCode; message: string };
  /** What it produced. */
  result?: JobResultView;
  /** Where to follow it. */
  urls: JobUrls;
}

/**
 * The URLs of job `id`: absolute under `base` (the configured public URL), or paths when
 * `base` is "".
 */
export function jobUrls(id: string, base: string): JobUrls {
  const self = `${base}/v1/edits/${id}`;
  return { self, events: `${self}/events`, cancel: `${self}/cancel`, result: `${self}/result` };
}

const iso = (ms: number | undefined) => ms === undefined ? undefined : new Date(ms).toISOString();

function mapView(map: { width: number; height: number; data: ArrayLike<number> }): MapView {
  return { width: map.width, height: map.height, data: Array.from(map.data) };
}

/** The JSON of a job, its URLs under `base` (see {@linkcode jobUrls}), maps when given. */
export function jobView(
  snapshot: JobSnapshot,
  base: string,
  maps?: JobResultMaps | null,
): JobView {
  const { job, progress, position } = snapshot;
  const view: JobView = {
    id: job.id,
    object: "edit",
    model: job.model,
    status: job.status,
    instruction: job.instruction,
    createdAt: iso(job.createdAt)!,
    updatedAt: iso(job.updatedAt)!,
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    expiresAt: iso(job.expiresAt),
    attempts: job.attempts,
    urls: jobUrls(job.id, base),
  };
  if (position !== null) view.position = position;
  if (progress !== null && job.status === "running") {
    view.progress = { index: progress.index, total: progress.total };
  }
  if (job.cancelRequested && job.status === "running") view.cancelRequested = true;
  if (job.error) view.error = job.error;
  if (job.result) {
    view.result = { ...job.result };
    if (maps) {
      view.result.localization = {
        ...mapView(maps.localization),
        lambda: maps.localization.lambda,
      };
      view.result.mask = mapView(maps.mask);
    }
  }
  return view;
}
