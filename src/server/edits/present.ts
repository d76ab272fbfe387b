/**
 * How jobs look to clients: builds the JSON of a job (`GET /v1/edits/:id`, the 202 answer) and
 * of a result, with the URLs to follow, as the wire format of `src/schema/job.ts` defines it.
 *
 * @module
 */

import type { JobUrls, JobView, MapView } from "../../schema/job.ts";
import type { JobSnapshot } from "../jobs/watch.ts";
import type { JobResultMaps } from "../jobs/types.ts";

/**
 * The URLs of job `id` under `base` (the resolved `urlBase`): absolute under the public URL,
 * else paths under the base path, else paths from the root.
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
