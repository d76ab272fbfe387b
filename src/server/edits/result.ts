/**
 * Answering with a completed job's result: image bytes in the asked format (optionally
 * resized), or JSON with the seed, the image as base64 and the maps. Re-encoding and resizing
 * run in the image pool, within the pixel budget, and what they make is cached.
 *
 * @module
 */

import type { Context } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import type { ImageFormat, Size } from "../../image/types.ts";
import type { ServerEnv } from "../context.ts";
import type { JobRecord } from "../jobs/types.ts";
import type { ServerServices } from "../services.ts";
import { IMAGE_CONTENT_TYPES, toBase64 } from "./images.ts";
import { jobView } from "./present.ts";

/** What a result is asked for as: an image format or JSON. */
export type ResultFormat = ImageFormat | "json";

/** The stored PNG of a completed job; `not_found` once it expired. */
async function resultPng(services: ServerServices, job: JobRecord): Promise<Uint8Array> {
  const png = await services.store.resultImage(job.id);
  if (png === null) {
    throw new EditMGTError("not_found", `the result of edit ${job.id} has expired`);
  }
  return png;
}

/**
 * The result image of `job` in `format` (JPEG/WebP `quality` 0-100), resized to `size` when
 * given. The stored PNG is answered as it is; anything else is made once in the image pool
 * and cached.
 */
export async function resultImage(
  services: ServerServices,
  job: JobRecord,
  format: ImageFormat,
  size?: Size,
  quality?: number,
): Promise<Uint8Array> {
  assertCompleted(job);
  const { width, height } = job.result!;
  const output = size ?? { width, height };
  const sameSize = output.width === width && output.height === height;
  if (format === "png" && sameSize) return await resultPng(services, job);
  const key = `${job.id}/${format}/${output.width}x${output.height}/${quality ?? ""}`;
  return await services.results.get(key, async () => {
    const bytes = await resultPng(services, job);
    const task = {
      op: "transcode",
      bytes,
      format,
      ...(sameSize ? {} : { size: output }),
      ...(quality === undefined ? {} : { quality }),
    } as const;
    return (await services.images.run(task, { width, height }, {
      transfer: [bytes.buffer as ArrayBuffer],
    }))!;
  });
}

/**
 * Throws unless `job` is completed: a failed or cancelled job answers with its own error (it
 * will never have a result), a queued or running one with `not_found` until it completes.
 */
export function assertCompleted(job: JobRecord): void {
  if (job.status === "completed") return;
  if (job.status === "failed" || job.status === "cancelled") {
    const error = job.error ?? { code: "internal" as const, message: `the edit ${job.status}` };
    throw new EditMGTError(
      error.code,
      `edit ${job.id} ${job.status}, so it has no result: ${error.message}`,
      { details: { id: job.id, status: job.status } },
    );
  }
  throw new EditMGTError(
    "not_found",
    `edit ${job.id} has no result yet (status: ${job.status}); wait for its completed event`,
    { details: { status: job.status } },
  );
}

/** The response with the result of completed `job` in `format`. */
export async function resultResponse(
  c: Context<ServerEnv>,
  services: ServerServices,
  job: JobRecord,
  format: ResultFormat,
  size?: Size,
): Promise<Response> {
  assertCompleted(job);
  const base = services.options.urlBase;
  const seconds = Math.max(0, Math.floor(((job.expiresAt ?? 0) - services.store.now()) / 1000));
  c.header("Cache-Control", `private, max-age=${seconds}`);
  c.header("X-Edit-Seed", String(job.result!.seed));
  c.header("Content-Location", `${base}/v1/edits/${job.id}`);
  if (format === "json") {
    const png = await resultImage(services, job, "png", size);
    const maps = await services.store.resultMaps(job.id);
    const view = jobView({ job, progress: null, position: null }, base, maps);
    return c.json({ ...view, image: { contentType: "image/png", base64: toBase64(png) } });
  }
  const bytes = await resultImage(services, job, format, size);
  c.header(
    "Content-Disposition",
    `inline; filename="${job.id}.${format === "jpeg" ? "jpg" : format}"`,
  );
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
    "Content-Type": IMAGE_CONTENT_TYPES[format],
  });
}
