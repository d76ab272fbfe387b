/**
 * The edit API: `POST /v1/edits` (queue an edit; `Prefer: wait` answers with the result),
 * `GET /v1/edits/:id`, `GET /v1/edits/:id/events` (SSE), `POST /v1/edits/:id/cancel` and
 * `GET /v1/edits/:id/result`.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import type { EditOptions } from "../../schema/options.ts";
import type { ServerEnv } from "../context.ts";
import { clip, errorResponse } from "../errors.ts";
import { errorResponses, IMAGE_CONTENT, jsonResponse, ref } from "../openapi/describe.ts";
import { type RouteSpec, serve } from "../route.ts";
import { isFinal, JOB_ID, type JobRecord } from "../jobs/types.ts";
import { readSnapshot, waitForJob } from "../jobs/watch.ts";
import { findModel, type ServerServices, type ServicesGetter } from "../services.ts";
import { jobEvents } from "./events.ts";
import { acceptedImageFormat, type CheckedImage, parseImageFormat } from "./images.ts";
import { preferredWaitMs } from "./prefer.ts";
import { jobView } from "./present.ts";
import { readEditSubmission } from "./request.ts";
import { type ResultFormat, resultResponse } from "./result.ts";
import { parseSize } from "./size.ts";

const JOB_ID_DOC = { id: "edit job id" };
/** A result as JSON, or as an image when the request asks for one. */
const RESULT_CONTENT = { "application/json": { schema: ref("ResultJson") }, ...IMAGE_CONTENT };

/** `POST /v1/edits`. */
const SUBMIT = {
  method: "POST",
  path: "/v1/edits",
  access: "edit",
  submission: true,
  doc: {
    summary: "Queue an edit; with `Prefer: wait` answer with the result",
    parameters: [{
      name: "Prefer",
      in: "header",
      schema: { type: "string" },
      description: "`wait` (up to the server's limit) or `wait=N` seconds",
    }],
    requestBody: {
      required: true,
      content: {
        "multipart/form-data": { schema: ref("EditMultipartBody") },
        "application/json": { schema: ref("EditJsonBody") },
      },
    },
    responses: {
      200: {
        description: "the result (Prefer: wait); an image when Accept names one",
        content: RESULT_CONTENT,
      },
      202: jsonResponse("Job", "queued"),
      ...errorResponses([400, 401, 404, 413, 415, 429, 499, 500, 504]),
    },
  },
} as const satisfies RouteSpec;

/** `GET /v1/edits/:id`. */
const JOB = {
  method: "GET",
  path: "/v1/edits/:id",
  access: "edit",
  doc: {
    summary: "A job",
    pathParameters: JOB_ID_DOC,
    responses: { 200: jsonResponse("Job", "the job"), ...errorResponses([404]) },
  },
} as const satisfies RouteSpec;

/** `GET /v1/edits/:id/events`. */
const EVENTS = {
  method: "GET",
  path: "/v1/edits/:id/events",
  access: "edit",
  doc: {
    summary: "Server-sent events: queued, step, preview, completed, failed",
    pathParameters: JOB_ID_DOC,
    responses: {
      200: {
        description: "event stream",
        content: { "text/event-stream": { schema: { type: "string" } } },
      },
      ...errorResponses([404]),
    },
  },
} as const satisfies RouteSpec;

/** `POST /v1/edits/:id/cancel`. */
const CANCEL = {
  method: "POST",
  path: "/v1/edits/:id/cancel",
  access: "edit",
  doc: {
    summary: "Cancel a job",
    pathParameters: JOB_ID_DOC,
    responses: {
      200: jsonResponse("Job", "cancelled (or already final)"),
      202: jsonResponse("Job", "stopping"),
      ...errorResponses([404]),
    },
  },
} as const satisfies RouteSpec;

/** `GET /v1/edits/:id/result`. */
const RESULT = {
  method: "GET",
  path: "/v1/edits/:id/result",
  access: "edit",
  doc: {
    summary: "A completed job's image or JSON",
    pathParameters: JOB_ID_DOC,
    parameters: [
      { name: "format", in: "query", schema: { enum: ["png", "jpeg", "webp", "json"] } },
      { name: "size", in: "query", schema: { type: "string" }, description: "WIDTHxHEIGHT" },
    ],
    responses: {
      200: { description: "the result", content: RESULT_CONTENT },
      ...errorResponses([400, 404]),
    },
  },
} as const satisfies RouteSpec;

/** The routes of the edit API, for the route table. */
export const EDIT_ROUTES: readonly RouteSpec[] = [SUBMIT, JOB, EVENTS, CANCEL, RESULT];

/** The job `id` from the path; `not_found` for ids that cannot exist or do not. */
export async function findJob(services: ServerServices, id: string): Promise<JobRecord> {
  const job = JOB_ID.test(id) ? await services.store.get(id) : null;
  if (job === null) {
    throw new EditMGTError("not_found", `no edit "${clip(id)}" (unknown, or its result expired)`);
  }
  return job;
}

/** The error that a failed or cancelled job answers a waiting client with. */
export function jobError(job: JobRecord): EditMGTError {
  const error = job.error ?? { code: "internal" as const, message: `the edit ${job.status}` };
  return new EditMGTError(error.code, error.message, { details: { id: job.id } });
}

/** Cancels job `id` in the store and, when this process runs it, stops it at once. */
export async function cancelJob(services: ServerServices, id: string): Promise<JobRecord | null> {
  const job = await services.store.cancel(id);
  if (job?.cancelRequested) services.worker?.cancelLocal(id);
  return job;
}

/**
 * Waits up to `waitMs` for the jobs to finish; cancels them when the client goes away. Returns
 * the jobs as they then are, or null when the client went away.
 */
export async function waitForJobs(
  c: Context<ServerEnv>,
  services: ServerServices,
  ids: string[],
  waitMs: number,
): Promise<JobRecord[] | null> {
  const { store, options } = services;
  const signal = c.req.raw.signal;
  const jobs = await Promise.all(
    ids.map((id) =>
      waitForJob(store, id, { signal, timeoutMs: waitMs, pollMs: options.queue.pollMs })
    ),
  );
  if (!signal.aborted) return jobs.filter((job) => job !== null);
  for (const id of ids) await cancelJob(services, id);
  services.log({
    level: "info",
    msg: "client went away; edits cancelled",
    requestId: c.get("requestId"),
    jobs: ids,
  });
  return null;
}

/** What a route queues: the request's parts, with the image checked. */
export interface EditJob {
  /** Model id. */
  model: string;
  /** The instruction. */
  instruction: string;
  /** Sampler options. */
  options: EditOptions;
  /** The source image, checked from its header. */
  image: CheckedImage;
  /** The mask image file, if any. */
  mask?: Uint8Array;
}

/** Queues an edit on `services`' store. */
export function submitJob(services: ServerServices, edit: EditJob): Promise<JobRecord> {
  const { format, width, height } = edit.image;
  return services.store.submit({
    model: edit.model,
    instruction: edit.instruction,
    options: edit.options,
    source: { format, width, height },
    image: edit.image.bytes,
    ...(edit.mask === undefined ? {} : { mask: edit.mask }),
  });
}

/** The edit routes (see the module doc). */
export function editRoutes(services: ServicesGetter): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();

  serve(app, SUBMIT, async (c) => {
    const s = await services();
    await s.store.assertRoom();
    const submission = await readEditSubmission(
      c.get("body")!,
      c.req.header("content-type") ?? "",
      s.options.limits,
    );
    const model = findModel(s, submission.model);
    const job = await submitJob(s, {
      model: model.id,
      instruction: submission.instruction,
      options: submission.options,
      image: submission.image,
      ...(submission.mask === undefined ? {} : { mask: submission.mask.bytes }),
    });
    s.log({ level: "info", msg: "job queued", requestId: c.get("requestId"), job: job.id });
    const waitMs = preferredWaitMs(c.req.header("prefer"), s.options.queue.maxWaitMs);
    if (waitMs !== null) {
      c.header("Preference-Applied", "wait");
      const waited = await waitForJobs(c, s, [job.id], waitMs);
      if (waited === null) {
        return errorResponse(
          c,
          new EditMGTError("aborted", "the client went away; edit cancelled"),
        );
      }
      const [finished] = waited;
      if (finished?.status === "completed") {
        const format = acceptedImageFormat(c.req.header("accept")) ?? "json";
        return await resultResponse(c, s, finished, format);
      }
      if (finished && isFinal(finished.status)) return errorResponse(c, jobError(finished));
    }
    const snapshot = await readSnapshot(s.store, job.id);
    const view = jobView(snapshot ?? { job, progress: null, position: null }, s.options.urlBase);
    c.header("Location", view.urls.self);
    return c.json(view, 202);
  });

  serve(app, JOB, async (c) => {
    const s = await services();
    const job = await findJob(s, c.req.param("id"));
    const snapshot = await readSnapshot(s.store, job.id) ?? { job, progress: null, position: null };
    const maps = job.status === "completed" ? await s.store.resultMaps(job.id) : null;
    return c.json(jobView(snapshot, s.options.urlBase, maps));
  });

  serve(app, EVENTS, async (c) => {
    const s = await services();
    const job = await findJob(s, c.req.param("id"));
    return jobEvents(c, s.store, job.id, s.options);
  });

  serve(app, CANCEL, async (c) => {
    const s = await services();
    const job = await findJob(s, c.req.param("id"));
    const cancelled = await cancelJob(s, job.id) ?? job;
    s.log({ level: "info", msg: "cancel requested", requestId: c.get("requestId"), job: job.id });
    const snapshot = await readSnapshot(s.store, job.id) ??
      { job: cancelled, progress: null, position: null };
    const view = jobView(snapshot, s.options.urlBase);
    return c.json(view, isFinal(snapshot.job.status) ? 200 : 202);
  });

  serve(app, RESULT, async (c) => {
    const s = await services();
    const job = await findJob(s, c.req.param("id"));
    const query = c.req.query("format");
    const format: ResultFormat = query === "json"
      ? "json"
      : parseImageFormat(query, "format") ?? acceptedImageFormat(c.req.header("accept")) ?? "png";
    const size = parseSize(c.req.query("size"), s.options.limits.maxOutputSide);
    return await resultResponse(c, s, job, format, size);
  });

  return app;
}
