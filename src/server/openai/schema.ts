/**
 * The wire format of `POST /v1/images/edits`, OpenAI's images edit endpoint: the multipart
 * fields it takes, the body it answers and the error body OpenAI's clients read. One zod
 * definition each; the route parses with them, and the OpenAPI document is generated from them.
 *
 * @module
 */

import { z } from "zod";
import type { Schema } from "../../schema/schema.ts";

/** Most images one request may ask for with `n`, as OpenAI's endpoint allows. */
export const OPENAI_MAX_IMAGES = 10;

/** Fields of OpenAI's endpoint that are accepted and have no effect here. */
export const OPENAI_IGNORED_FIELDS: readonly string[] = [
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

/** Text holding an integer in [min, max], parsed to the number. */
const integerText = (min: number, max: number) =>
  z.string().refine(
    (text) => /^\s*\d{1,6}\s*$/.test(text) && Number(text) >= min && Number(text) <= max,
    `must be an integer in [${min}, ${max}]`,
  ).transform(Number);

/** An image format name, case-insensitive, `jpg` for `jpeg`. */
const imageFormat = z.string()
  .transform((text) => text.toLowerCase() === "jpg" ? "jpeg" : text.toLowerCase())
  .pipe(z.enum(["png", "jpeg", "webp"], { error: "must be png, jpeg or webp" }));

const ignoredFields = Object.fromEntries(
  OPENAI_IGNORED_FIELDS.map((name) => [name, z.string().optional().describe("ignored")]),
);

const editBody = z.object({
  image: z.file().describe("the image to edit (image[] with one file is accepted too)"),
  prompt: z.string().describe("the instruction"),
  mask: z.file().optional().describe(
    "same size as the image; its alpha 0 marks where to edit (a fully opaque mask is refused)",
  ),
  model: z.string().optional().describe("a served model id; OpenAI names get the default"),
  n: integerText(1, OPENAI_MAX_IMAGES).optional().describe(
    `number of images, 1 to ${OPENAI_MAX_IMAGES} (and at most the server's maxImagesPerRequest)`,
  ),
  size: z.string().optional().describe('"auto" or WIDTHxHEIGHT of the output'),
  response_format: z.enum(["b64_json", "url"]).default("b64_json"),
  output_format: imageFormat.default("png").describe("png, jpeg (or jpg) or webp"),
  output_compression: integerText(0, 100).optional().describe("JPEG/WebP quality 0-100"),
  stream: z.literal("false", { error: "streaming is not supported here; use /v1/edits" })
    .optional().describe('only "false"'),
  options: z.string().optional().describe("extension: JSON text of EditOptions"),
  ...ignoredFields,
});

/** A parsed `POST /v1/images/edits` request, defaults filled in. */
export interface OpenAIEditFields {
  /** The image to edit. */
  image: File;
  /** The instruction (checked against the server's length limit by the route). */
  prompt: string;
  /** The OpenAI-style mask: alpha 0 marks the area to edit. */
  mask?: File;
  /** A served model id, or an OpenAI model name (the default model). */
  model?: string;
  /** How many images (1 to {@linkcode OPENAI_MAX_IMAGES}). */
  n?: number;
  /** `auto` or `WIDTHxHEIGHT`. */
  size?: string;
  /** Images inline as base64, or as URLs of the results. */
  response_format: "b64_json" | "url";
  /** Format of the images. */
  output_format: "png" | "jpeg" | "webp";
  /** JPEG/WebP quality. */
  output_compression?: number;
  /** Only `"false"`. */
  stream?: "false";
  /** JSON text of the sampler options of `/v1/edits`. */
  options?: string;
}

/** The multipart fields of `POST /v1/images/edits`, as one object (field name to value). */
export const OpenAIEditBodySchema: Schema<OpenAIEditFields> = editBody;

/** The names of the fields {@linkcode OpenAIEditBodySchema} knows, `image[]` included. */
export const OPENAI_FIELDS: readonly string[] = [...Object.keys(editBody.shape), "image[]"];

const imagesResponse = z.object({
  created: z.int().describe("Unix seconds"),
  data: z.array(z.object({
    b64_json: z.string().optional().describe('the image as base64 ("b64_json")'),
    url: z.string().optional().describe('where to fetch the image ("url"), until it expires'),
    revised_prompt: z.string().optional().describe("the prompt as used"),
  })),
  output_format: z.enum(["png", "jpeg", "webp"]),
  size: z.string().describe("WIDTHxHEIGHT of the images"),
  usage: z.object({
    input_tokens: z.int().min(0),
    input_tokens_details: z.object({ image_tokens: z.int().min(0), text_tokens: z.int().min(0) }),
    output_tokens: z.int().min(0),
    total_tokens: z.int().min(0),
  }).describe("OpenAI's token counts; always zero here, where nothing is billed by the token"),
});

/** One image of the response. */
export interface OpenAIImage {
  /** The image as base64 (`response_format: "b64_json"`). */
  b64_json?: string;
  /** Where to fetch the image (`response_format: "url"`), valid until the result expires. */
  url?: string;
  /** The prompt as used. */
  revised_prompt?: string;
}

/** Token counts of OpenAI's images response; zeros here. */
export interface OpenAIImagesUsage {
  /** Tokens of the input (0). */
  input_tokens: number;
  /** Input tokens by kind (0). */
  input_tokens_details: { image_tokens: number; text_tokens: number };
  /** Tokens of the output images (0). */
  output_tokens: number;
  /** All tokens (0). */
  total_tokens: number;
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
  /** Token counts, present as OpenAI's clients expect, all zero. */
  usage: OpenAIImagesUsage;
}

/** The body of the OpenAI-compatible endpoint's answer. */
export const OpenAIImagesResponseSchema: Schema<OpenAIImagesResponse> = imagesResponse;

/**
 * OpenAI's error types, by our HTTP status: `invalid_request_error` for 4xx (`authentication_error`
 * for 401, `rate_limit_error` for 429), `server_error` for 5xx.
 */
export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "rate_limit_error"
  | "server_error";

/** The error body of the OpenAI-compatible endpoint: OpenAI's fields, plus our `details`. */
export interface OpenAIErrorBody {
  /** The error. */
  error: {
    /** What was wrong and what to do. */
    message: string;
    /** OpenAI's error type (see {@linkcode OpenAIErrorType}). */
    type: OpenAIErrorType;
    /** The request field at fault, or null. */
    param: string | null;
    /** Our stable error code (`invalid_option`, `queue_full`...). */
    code: string;
    /** Machine-readable details, as on the other routes. */
    details?: Record<string, unknown>;
  };
}

const errorBody = z.object({
  error: z.object({
    message: z.string(),
    type: z.enum([
      "invalid_request_error",
      "authentication_error",
      "rate_limit_error",
      "server_error",
    ]),
    param: z.string().nullable(),
    code: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The error body of the OpenAI-compatible endpoint. */
export const OpenAIErrorBodySchema: Schema<OpenAIErrorBody> = errorBody;

/** The zod objects of this module by OpenAPI component name, for the document generator. */
export const OPENAI_SCHEMAS: Record<
  "OpenAIEditBody" | "OpenAIImagesResponse" | "OpenAIErrorBody",
  z.ZodType
> = {
  OpenAIEditBody: editBody,
  OpenAIImagesResponse: imagesResponse,
  OpenAIErrorBody: errorBody,
};
