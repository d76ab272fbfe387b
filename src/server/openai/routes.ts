/**
 * `POST /v1/images/edits`, compatible with OpenAI's images edit endpoint, so existing clients
 * (the `openai` npm package, curl scripts) work unchanged: multipart `image` (or `image[]`, one
 * image), `prompt`, optional `mask` whose alpha 0 marks the region to edit (without a mask,
 * the image's own transparent pixels do), `n` (1 to 10), `size`, `response_format` (`b64_json`,
 * the default, or `url`), `output_format`, `output_compression`. Parameters that have no meaning
 * here (quality, background...) are accepted and ignored. An extension field `options` takes
 * the JSON sampler options of `/v1/edits`. The fields are those of
 * {@linkcode OpenAIEditBodySchema}; answers carry `usage` (zeros) and errors OpenAI's
 * `{ error: { message, type, param, code } }` ({@linkcode openAIErrorBody}).
 *
 * @module
 */

import { Hono } from "hono";
import { EditMGTError, isEditMGTError } from "../../errors/mod.ts";
import type { EditOptions } from "../../schema/options.ts";
import type { ServerEnv } from "../context.ts";
import { errorResponse } from "../errors.ts";
import { assertSameSize, type CheckedImage, checkImage, toBase64 } from "../edits/images.ts";
import {
  assertKnownFields,
  checkPrompt,
  mediaType,
  parseEditOptions,
  parseFormData,
  parseJsonText,
  singleField,
} from "../edits/request.ts";
import { cancelJob, jobError, submitJob, waitForJobs } from "../edits/routes.ts";
import { resultImage } from "../edits/result.ts";
import { parseSize } from "../edits/size.ts";
import type { JobRecord } from "../jobs/types.ts";
import { errorResponses, jsonResponse, ref } from "../openapi/describe.ts";
import { type RouteSpec, serve } from "../route.ts";
import { findModel, type ServerServices, type ServicesGetter } from "../services.ts";
import type { Size } from "../../image/types.ts";
import {
  OPENAI_FIELDS,
  OpenAIEditBodySchema,
  type OpenAIEditFields,
  type OpenAIErrorBody,
  type OpenAIErrorType,
  type OpenAIImage,
  type OpenAIImagesResponse,
} from "./schema.ts";

/** Model names of OpenAI's API; requests naming them get the default model. */
const OPENAI_MODEL = /^(dall-e-|gpt-image-)/;
/** Fields whose problems are `invalid_input`; problems of the others are `invalid_option`. */
const INPUT_FIELDS = new Set(["image", "mask", "prompt"]);

/** OpenAI's error type for an HTTP status (see {@linkcode OpenAIErrorType}). */
export function openAIErrorType(status: number): OpenAIErrorType {
  if (status === 401) return "authentication_error";
  if (status === 429) return "rate_limit_error";
  return status < 500 ? "invalid_request_error" : "server_error";
}

/** The request field an error is about (its details' option or field), else null. */
function errorParam(details: Record<string, unknown> | undefined): string | null {
  const param = details?.option ?? details?.field;
  return typeof param === "string" ? param : null;
}

/**
 * The error body of the OpenAI-compatible route, its middleware's errors included (API keys,
 * rate limit, body limits): OpenAI's `{ error: { message, type, param, code } }`, keeping our
 * `details`.
 *
 * @example
 * ```ts
 * import { EditMGTError } from "../../errors/mod.ts";
 * import { openAIErrorBody } from "./routes.ts";
 *
 * const error = new EditMGTError("invalid_option", "n: too big", { details: { option: "n" } });
 * console.log(openAIErrorBody(error).error.param); // "n"
 * ```
 */
export function openAIErrorBody(error: EditMGTError): OpenAIErrorBody {
  return {
    error: {
      message: error.message,
      type: openAIErrorType(error.status),
      param: errorParam(error.details),
      code: error.code,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

/** A validated request. */
interface OpenAIEdit {
  fields: OpenAIEditFields;
  model: string;
  prompt: string;
  n: number;
  size: Size | undefined;
  options: EditOptions;
  image: CheckedImage;
  maskBytes: Uint8Array | undefined;
}

/** The form's fields as one object; `image` from `image` or `image[]`, each field once. */
function formFields(form: FormData): Record<string, FormDataEntryValue> {
  const images = [...form.getAll("image"), ...form.getAll("image[]")];
  if (images.length > 1) {
    throw new EditMGTError("invalid_input", `send exactly one image, got ${images.length}`, {
      details: { field: "image" },
    });
  }
  const fields: Record<string, FormDataEntryValue> = {};
  for (const name of new Set(form.keys())) fields[name] = singleField(form, name)!;
  delete fields["image[]"];
  if (images.length === 1) fields.image = images[0];
  return fields;
}

/** Parses the fields with {@linkcode OpenAIEditBodySchema}; the first problem is the error. */
function parseFields(fields: Record<string, FormDataEntryValue>): OpenAIEditFields {
  const result = OpenAIEditBodySchema.safeParse(fields);
  if (result.success) return result.data;
  const [issue] = result.error.issues;
  const name = String(issue.path[0] ?? "");
  const input = INPUT_FIELDS.has(name);
  const message = fields[name] === undefined && input
    ? `field "${name}" is missing`
    : `${name}: ${issue.message}`;
  throw new EditMGTError(input ? "invalid_input" : "invalid_option", message, {
    details: input ? { field: name } : { option: name },
  });
}

/** The sampler options of the `options` field; errors name the field. */
function editOptions(text: string | undefined): EditOptions {
  try {
    return parseEditOptions(text === undefined ? {} : parseJsonText(text, 'field "options"'));
  } catch (error) {
    if (!isEditMGTError(error)) throw error;
    throw new EditMGTError(error.code, `options: ${error.message}`, {
      cause: error,
      details: { ...error.details, option: "options" },
    });
  }
}

/** The served model a request names; OpenAI's model names (and none) mean the default. */
function pickModel(services: ServerServices, name: string | undefined): string {
  if (name === undefined || name === "" || OPENAI_MODEL.test(name)) return services.defaultModel;
  return findModel(services, name).id;
}

/**
 * Reads and checks a request: fields, model, limits (`n` against `maxImagesPerRequest`; with
 * `b64_json`, all images together within `maxPixelsInFlight`), room in the queue, image and
 * mask headers.
 */
async function readOpenAIEdit(
  services: ServerServices,
  body: Uint8Array,
  contentType: string,
): Promise<OpenAIEdit> {
  const { limits } = services.options;
  if (mediaType(contentType) !== "multipart/form-data") {
    throw new EditMGTError(
      "unsupported_format",
      "this endpoint takes multipart/form-data, as OpenAI's images edit endpoint",
    );
  }
  const form = await parseFormData(body, contentType);
  assertKnownFields(form.keys(), OPENAI_FIELDS);
  const fields = parseFields(formFields(form));
  const prompt = checkPrompt(fields.prompt, limits.maxInstructionChars, "prompt");
  const n = fields.n ?? 1;
  if (n > limits.maxImagesPerRequest) {
    throw new EditMGTError(
      "invalid_option",
      `n: this server makes at most ${limits.maxImagesPerRequest} images per request, got ${n}`,
      { details: { option: "n" } },
    );
  }
  const size = parseSize(fields.size, limits.maxOutputSide);
  const options = editOptions(fields.options);
  const model = pickModel(services, fields.model);
  await services.store.assertRoom(n);
  const image = checkImage(new Uint8Array(await fields.image.arrayBuffer()), limits.maxImagePixels);
  const maskBytes = fields.mask && new Uint8Array(await fields.mask.arrayBuffer());
  if (maskBytes !== undefined) {
    assertSameSize(image, checkImage(maskBytes, limits.maxImagePixels));
  }
  const { width, height } = size ?? image;
  if (fields.response_format === "b64_json" && n * width * height > limits.maxPixelsInFlight) {
    throw new EditMGTError(
      "invalid_option",
      `n: ${n} images of ${width}x${height} are too large for one answer; ask for ` +
        `${Math.max(1, Math.floor(limits.maxPixelsInFlight / (width * height)))} at most, a ` +
        'smaller size, or response_format "url"',
      { details: { option: "n" } },
    );
  }
  return { fields, model, prompt, n, size, options, image, maskBytes };
}

/**
 * The edit mask of the request as PNG bytes: from the alpha of the mask file, else from the
 * image's own transparent pixels (none in a JPEG, so it is not decoded); undefined when there
 * is nothing to mask. Decoded in the image pool, within the pixel budget. A mask without a
 * transparent pixel marks nothing to edit: `invalid_input` (param `mask`).
 */
async function editMask(
  services: ServerServices,
  image: CheckedImage,
  maskBytes: Uint8Array | undefined,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  if (maskBytes === undefined && image.format === "jpeg") return undefined;
  const task = {
    op: "alpha-mask",
    image: image.bytes,
    ...(maskBytes === undefined ? {} : { mask: maskBytes }),
    maxPixels: services.options.limits.maxImagePixels,
  } as const;
  return await services.images.run(task, image, { signal }) ?? undefined;
}

/** Queues the `n` edits of `edit` (seeds counting up from the given one); all or none. */
async function submitEdits(
  services: ServerServices,
  edit: OpenAIEdit,
  mask: Uint8Array | undefined,
): Promise<string[]> {
  const jobs: JobRecord[] = [];
  try {
    for (let i = 0; i < edit.n; i++) {
      const { seed } = edit.options;
      jobs.push(
        await submitJob(services, {
          model: edit.model,
          instruction: edit.prompt,
          options: seed === undefined ? edit.options : { ...edit.options, seed: seed + i },
          image: edit.image,
          ...(mask === undefined ? {} : { mask }),
        }),
      );
    }
  } catch (error) {
    for (const job of jobs) await cancelJob(services, job.id);
    throw error;
  }
  return jobs.map((job) => job.id);
}

/** The answer for the completed `jobs`, images inline or as URLs under the public base. */
async function imagesResponse(
  services: ServerServices,
  edit: OpenAIEdit,
  jobs: JobRecord[],
): Promise<OpenAIImagesResponse> {
  const { fields, size, prompt } = edit;
  const data: OpenAIImage[] = [];
  for (const job of jobs) {
    if (fields.response_format === "url") {
      const query = new URLSearchParams({ format: fields.output_format });
      if (size) query.set("size", `${size.width}x${size.height}`);
      const url = `${services.options.urlBase}/v1/edits/${job.id}/result?${query}`;
      data.push({ url, revised_prompt: prompt });
    } else {
      const bytes = await resultImage(
        services,
        job,
        fields.output_format,
        size,
        fields.output_compression,
      );
      data.push({ b64_json: toBase64(bytes), revised_prompt: prompt });
    }
  }
  const { width, height } = size ?? jobs[0].result!;
  return {
    created: Math.floor(Date.now() / 1000),
    data,
    output_format: fields.output_format,
    size: `${width}x${height}`,
    usage: {
      input_tokens: 0,
      input_tokens_details: { image_tokens: 0, text_tokens: 0 },
      output_tokens: 0,
      total_tokens: 0,
    },
  };
}

/** `POST /v1/images/edits`. */
const IMAGES_EDIT = {
  method: "POST",
  path: "/v1/images/edits",
  access: "edit",
  submission: true,
  errorBody: openAIErrorBody,
  doc: {
    summary: "OpenAI-compatible image edit",
    requestBody: {
      required: true,
      content: { "multipart/form-data": { schema: ref("OpenAIEditBody") } },
    },
    responses: {
      200: jsonResponse("OpenAIImagesResponse", "the images"),
      ...errorResponses([400, 401, 404, 413, 415, 429, 500, 504], "OpenAIErrorBody"),
    },
  },
} as const satisfies RouteSpec;

/** The OpenAI-compatible route, for the route table. */
export const OPENAI_ROUTES: readonly RouteSpec[] = [IMAGES_EDIT];

/** The OpenAI-compatible route (see the module doc). */
export function openAIRoutes(services: ServicesGetter): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  serve(app, IMAGES_EDIT, async (c) => {
    const s = await services();
    const contentType = c.req.header("content-type") ?? "";
    const edit = await readOpenAIEdit(s, c.get("body")!, contentType);
    const mask = await editMask(s, edit.image, edit.maskBytes, c.req.raw.signal);
    const ids = await submitEdits(s, edit, mask);

    const finished = await waitForJobs(c, s, ids, s.options.queue.maxWaitMs);
    if (finished === null) {
      return errorResponse(c, new EditMGTError("aborted", "the client went away; edit cancelled"));
    }
    const unfinished = finished.find((job) => job.status !== "completed");
    if (unfinished !== undefined) {
      for (const id of ids) await cancelJob(s, id);
      if (unfinished.status === "queued" || unfinished.status === "running") {
        throw new EditMGTError(
          "timeout",
          `the edits took longer than ${s.options.queue.maxWaitMs} ms; use /v1/edits for long jobs`,
        );
      }
      return errorResponse(c, jobError(unfinished));
    }
    return c.json(await imagesResponse(s, edit, finished));
  });
  return app;
}
