/**
 * `POST /v1/images/edits`, compatible with OpenAI's images edit endpoint, so existing clients
 * (the `openai` npm package, curl scripts) work unchanged: multipart `image` (or `image[]`, one
 * image), `prompt`, optional `mask` whose alpha 0 marks the region to edit (without a mask,
 * the image's own transparent pixels do), `n`, `size`, `response_format` (`b64_json`, the
 * default, or `url`), `output_format`, `output_compression`. Parameters that have no meaning
 * here (quality, background...) are accepted and ignored. An extension field `options` takes
 * the JSON sampler options of `/v1/edits`.
 *
 * @module
 */

import { Hono } from "hono";
import { EditMGTError } from "../../errors/mod.ts";
import type { ServerEnv } from "../context.ts";
import { clip, errorResponse } from "../errors.ts";
import {
  assertSameSize,
  type CheckedImage,
  checkImage,
  parseImageFormat,
  toBase64,
} from "../edits/images.ts";
import {
  assertKnownFields,
  checkPrompt,
  mediaType,
  parseEditOptions,
  parseFormData,
  parseJsonText,
  singleField,
  textField,
} from "../edits/request.ts";
import { cancelJob, jobError, submitJob, waitForJobs } from "../edits/routes.ts";
import { resultImage } from "../edits/result.ts";
import { parseSize } from "../edits/size.ts";
import { findModel, type ServerServices, type ServicesGetter } from "../services.ts";
import type { JobRecord } from "../jobs/types.ts";

/** Fields of OpenAI's endpoint that are accepted and have no effect here. */
const IGNORED_FIELDS = [
  "background",
  "complexity",
  "frame_count",
  "frame_duration_ms",
  "input_fidelity",
  "markup",
  "partial_images",
  "quality",
  "safety_identifier",
  "user",
];
/** Fields this route reads. */
const FIELDS = [
  "image",
  "image[]",
  "prompt",
  "mask",
  "model",
  "n",
  "size",
  "response_format",
  "output_format",
  "output_compression",
  "stream",
  "options",
];

/** Model names of OpenAI's API; requests naming them get the default model. */
const OPENAI_MODEL = /^(dall-e-|gpt-image-)/;

/** One image of the response. */
export interface OpenAIImage {
  /** The image as base64 (`response_format: "b64_json"`). */
  b64_json?: string;
  /** Where to fetch the image (`response_format: "url"`), valid until the result expires. */
  url?: string;
  /** The prompt as used. */
  revised_prompt?: string;
}

/** The response body, as OpenAI's. */
export interface OpenAIImagesResponse {
  /** Unix seconds. */
  created: number;
  /** The images. */
  data: OpenAIImage[];
  /** The format of the images. */
  output_format: "png" | "jpeg" | "webp";
  /** `WIDTHxHEIGHT` of the images. */
  size: string;
}

function integerField(value: string | undefined, name: string, min: number, max: number) {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!(Number.isInteger(number) && number >= min && number <= max)) {
    throw new EditMGTError(
      "invalid_option",
      `${name} must be an integer in [${min}, ${max}], got "${clip(value)}"`,
      { details: { option: name } },
    );
  }
  return number;
}

/** The one image file of `image` or `image[]`. */
async function imageFile(form: FormData): Promise<Uint8Array> {
  const files = [...form.getAll("image"), ...form.getAll("image[]")];
  if (files.length !== 1) {
    throw new EditMGTError(
      "invalid_input",
      files.length === 0 ? 'the image is missing (field "image")' : "send exactly one image",
      { details: { field: "image" } },
    );
  }
  const [file] = files;
  if (typeof file === "string") {
    throw new EditMGTError("invalid_input", 'field "image" must be a file upload', {
      details: { field: "image" },
    });
  }
  return new Uint8Array(await file.arrayBuffer());
}

async function maskFile(form: FormData): Promise<Uint8Array | undefined> {
  const value = singleField(form, "mask");
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    throw new EditMGTError("invalid_input", 'field "mask" must be a file upload', {
      details: { field: "mask" },
    });
  }
  return new Uint8Array(await value.arrayBuffer());
}

/**
 * The edit mask of the request as PNG bytes: from the alpha of the mask file, else from the
 * image's own transparent pixels (none in a JPEG, so it is not decoded); undefined when there
 * is nothing to mask. Decoded in the image pool, within the pixel budget.
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

function pickModel(services: ServerServices, name: string | undefined): string {
  if (name === undefined || name === "" || OPENAI_MODEL.test(name)) return services.defaultModel;
  return findModel(services, name).id;
}

/** The OpenAI-compatible route (see the module doc). */
export function openAIRoutes(services: ServicesGetter): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  app.post("/v1/images/edits", async (c) => {
    const s = await services();
    const { limits } = s.options;
    const contentType = c.req.header("content-type") ?? "";
    if (mediaType(contentType) !== "multipart/form-data") {
      throw new EditMGTError(
        "unsupported_format",
        "this endpoint takes multipart/form-data, as OpenAI's images edit endpoint",
      );
    }
    const form = await parseFormData(c.get("body")!, contentType);
    assertKnownFields(form.keys(), [...FIELDS, ...IGNORED_FIELDS]);
    const prompt = checkPrompt(
      textField(form, "prompt") ?? "",
      limits.maxInstructionChars,
      "prompt",
    );
    if ((textField(form, "stream") ?? "false") !== "false") {
      throw new EditMGTError("invalid_option", "streaming is not supported here; use /v1/edits");
    }
    const n = integerField(textField(form, "n"), "n", 1, limits.maxImagesPerRequest) ?? 1;
    const size = parseSize(textField(form, "size"), limits.maxOutputSide);
    const responseFormat = textField(form, "response_format") ?? "b64_json";
    if (responseFormat !== "b64_json" && responseFormat !== "url") {
      throw new EditMGTError(
        "invalid_option",
        `response_format must be b64_json or url, got "${clip(responseFormat)}"`,
        { details: { option: "response_format" } },
      );
    }
    const outputFormat = parseImageFormat(textField(form, "output_format"), "output_format") ??
      "png";
    const quality = integerField(
      textField(form, "output_compression"),
      "output_compression",
      0,
      100,
    );
    const optionsText = textField(form, "options");
    const options = parseEditOptions(
      optionsText === undefined ? {} : parseJsonText(optionsText, 'field "options"'),
    );
    const model = pickModel(s, textField(form, "model"));
    await s.store.assertRoom(n);

    const image = checkImage(await imageFile(form), limits.maxImagePixels);
    const maskBytes = await maskFile(form);
    if (maskBytes !== undefined) {
      assertSameSize(image, checkImage(maskBytes, limits.maxImagePixels));
    }
    const mask = await editMask(s, image, maskBytes, c.req.raw.signal);

    const jobs: JobRecord[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const seed = options.seed === undefined ? undefined : options.seed + i;
        jobs.push(
          await submitJob(s, {
            model,
            instruction: prompt,
            options: seed === undefined ? options : { ...options, seed },
            image,
            ...(mask === undefined ? {} : { mask }),
          }),
        );
      }
    } catch (error) {
      for (const job of jobs) await cancelJob(s, job.id);
      throw error;
    }
    const ids = jobs.map((job) => job.id);
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
    const data: OpenAIImage[] = [];
    for (const job of finished) {
      if (responseFormat === "url") {
        const query = new URLSearchParams({ format: outputFormat });
        if (size) query.set("size", `${size.width}x${size.height}`);
        const url = `${s.options.publicUrl}/v1/edits/${job.id}/result?${query}`;
        data.push({ url, revised_prompt: prompt });
      } else {
        const bytes = await resultImage(s, job, outputFormat, size, quality);
        data.push({ b64_json: toBase64(bytes), revised_prompt: prompt });
      }
    }
    const { width, height } = size ?? finished[0].result!;
    const body: OpenAIImagesResponse = {
      created: Math.floor(Date.now() / 1000),
      data,
      output_format: outputFormat,
      size: `${width}x${height}`,
    };
    return c.json(body);
  });
  return app;
}
