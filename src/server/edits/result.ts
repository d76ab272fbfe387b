/**
 * Answering with a completed job's result: image bytes in the asked format (optionally
 * resized), or JSON with the seed, the image as base64 and the maps.
 *
 * @module
 */

import type { Context } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import { decodeImage, encodeImage } from "../../image/codec.ts";
import { resizeImage } from "../../image/resize.ts";
import type { ImageFormat, Size } from "../../image/types.ts";
import type { ServerEnv } from "../context.ts";
import type { JobStore } from "../jobs/store.ts";
import type { JobRecord } from "../jobs/types.ts";
import { IMAGE_CONTENT_TYPES, toBase64, transcodePng } from "./images.ts";
import { jobView } from "./present.ts";

/** What a result is asked for as: an image format or JSON. */
export type ResultFormat = ImageFormat | "json";

/** The stored PNG of a completed job; `not_found` once it expired. */
export async function resultPng(store: JobStore, job: JobRecord): Promise<Uint8Array> {
  const png = await store.resultImage(job.id);
  if (png === null) {
    throw new EditMGTError("not_found", `the result of edit ${job.id} has expired`);
  }
  return png;
}

/**
 * The result image of `job` in `format` (JPEG/WebP `quality` 0-100), resized to `size` when
 * given.
 */
export async function resultImage(
  store: JobStore,
  job: JobRecord,
  format: ImageFormat,
  size?: Size,
  quality?: number,
): Promise<Uint8Array> {
  assertCompleted(job);
  const png = await resultPng(store, job);
  const { width, height } = job.result!;
  if (size === undefined || (size.width === width && size.height === height)) {
    return await transcodePng(png, format, quality);
  }
  const image = await decodeImage(png, { maxPixels: 2 ** 32 });
  return await encodeImage(resizeImage(image, size), {
    format,
    ...(quality === undefined ? {} : { quality }),
  });
}

/** Throws `not_found` unless `job` is completed (its result exists). */
export function assertCompleted(job: JobRecord): void {
  if (job.status !== "completed") {
    throw new EditMGTError(
      "not_found",
      `edit ${job.id} has no result (status: ${job.status}); wait for its completed event`,
      { details: { status: job.status } },
    );
  }
}

/** The response with the result of completed `job` in `format`. */
export async function resultResponse(
  c: Context<ServerEnv>,
  store: JobStore,
  job: JobRecord,
  format: ResultFormat,
  size?: Size,
): Promise<Response> {
  assertCompleted(job);
  const seconds = Math.max(0, Math.floor(((job.expiresAt ?? 0) - store.now()) / 1000));
  c.header("Cache-Control", `private, max-age=${seconds}`);
  c.header("X-Edit-Seed", String(job.result!.seed));
  c.header("Content-Location", `/v1/edits/${job.id}`);
  if (format === "json") {
    const png = await resultImage(store, job, "png", size);
    const maps = await store.resultMaps(job.id);
    const view = jobView({ job, progress: null, position: null }, maps);
    return c.json({ ...view, image: { contentType: "image/png", base64: toBase64(png) } });
  }
  const bytes = await resultImage(store, job, format, size);
  c.header(
    "Content-Disposition",
    `inline; filename="${job.id}.${format === "jpeg" ? "jpg" : format}"`,
  );
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
    "Content-Type": IMAGE_CONTENT_TYPES[format],
  });
}
