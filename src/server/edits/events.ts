/**
 * `GET /v1/edits/:id/events`: server-sent events of one job. Events, each with a JSON `data`:
 * `queued` `{ id, position }`, `step` `{ index, total }`, `preview` `{ index, total, image }`
 * (a PNG data URL), then one of `completed` `{ id, seed, width, height, urls }` or `failed`
 * `{ error: { code, message } }` (a cancelled job fails with `aborted`), after which the stream
 * ends.
 *
 * @module
 */

import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { ServerEnv } from "../context.ts";
import type { JobStore } from "../jobs/store.ts";
import type { ResolvedServerOptions } from "../options.ts";
import { watchJob } from "../jobs/watch.ts";
import { pngDataUrl } from "./images.ts";
import { jobUrls } from "./present.ts";

/** A comment line every this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

/** The SSE response for job `id` (which must exist). */
export function jobEvents(
  c: Context<ServerEnv>,
  store: JobStore,
  id: string,
  options: ResolvedServerOptions,
): Response {
  const { pollMs } = options.queue;
  return streamSSE(c, async (stream) => {
    const closed = new AbortController();
    stream.onAbort(() => closed.abort());
    const keepAlive = setInterval(() => {
      stream.write(": keep-alive\n\n").catch(() => closed.abort());
    }, KEEP_ALIVE_MS);
    let sequence = 0;
    const send = (event: string, data: unknown) =>
      stream.writeSSE({ event, data: JSON.stringify(data), id: String(++sequence) });
    let delivery = -1;
    let position: number | null = null;
    let step = 0;
    let preview: number | undefined;
    try {
      for await (const snapshot of watchJob(store, id, { signal: closed.signal, pollMs })) {
        const { job, progress } = snapshot;
        if (job.delivery !== delivery) {
          [delivery, position, step, preview] = [job.delivery, null, 0, undefined];
        }
        if (snapshot.position !== null && snapshot.position !== position) {
          position = snapshot.position;
          await send("queued", { id, position });
        }
        if (progress !== null && progress.index !== step) {
          step = progress.index;
          await send("step", { index: progress.index, total: progress.total });
        }
        if (progress?.preview !== undefined && progress.preview !== preview) {
          preview = progress.preview;
          const png = await store.preview(id, preview);
          if (png !== null) {
            await send("preview", {
              index: preview,
              total: progress.total,
              image: pngDataUrl(png),
            });
          }
        }
        if (job.status === "completed") {
          const { seed, width, height } = job.result!;
          await send("completed", {
            id,
            seed,
            width,
            height,
            urls: jobUrls(id, options.urlBase),
          });
        } else if (job.status === "failed" || job.status === "cancelled") {
          await send("failed", { id, error: job.error });
        }
      }
    } finally {
      clearInterval(keepAlive);
    }
  });
}
