/**
 * Reading `POST /v1/edits` bodies: multipart (`image`, `mask`, `instruction`, `model`,
 * `options` as JSON) or JSON (`image`/`mask` as base64 or data URLs), validated against the
 * shared schemas, images checked before anything is queued.
 *
 * @module
 */

import { EditMGTError } from "../../errors/mod.ts";
import { EditOptionsSchema, parseWith } from "../../schema/mod.ts";
import {
  type EditOptions,
  EditRequestSchema,
  isBlankPrompt,
  promptLength,
} from "../../schema/options.ts";
import { clip, MAX_LISTED, nameList } from "../errors.ts";
import type { ServerLimits } from "../options.ts";
import { assertSameSize, type CheckedImage, checkImage, decodeBase64Image } from "./images.ts";

/**
 * Parses the sampler options of a request (absent: none) against the shared `EditOptions`
 * schema. `invalid_option` for anything wrong.
 */
export function parseEditOptions(value: unknown): EditOptions {
  return parseWith(EditOptionsSchema, value ?? {}, "invalid_option");
}

/** A validated edit request. */
export interface EditSubmission {
  /** Model id, when the client named one. */
  model?: string;
  /** The instruction (trimmed). */
  instruction: string;
  /** Sampler options. */
  options: EditOptions;
  /** The source image. */
  image: CheckedImage;
  /** The inpainting mask, same size as the image. */
  mask?: CheckedImage;
}

/** The fields of a multipart edit request. */
const MULTIPART_FIELDS = ["image", "mask", "instruction", "model", "options"];
/** The fields of a JSON edit request besides `image` and `mask`. */
const JSON_FIELDS = ["instruction", "model", "options"];

/** The media type of `contentType` (a `Content-Type` value), lowercased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

function malformedMultipart(what: string, cause?: unknown): EditMGTError {
  return new EditMGTError(
    "invalid_input",
    `the multipart/form-data body is malformed: ${what} (check the boundary and the parts)`,
    { cause },
  );
}

/** The last index of `needle` in `haystack`, or -1. */
function lastIndexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let at = haystack.length - needle.length; at >= 0; at--) {
    for (let i = 0; i < needle.length; i++) {
      if (haystack[at + i] !== needle[i]) continue outer;
    }
    return at;
  }
  return -1;
}

/**
 * Parses a multipart body; `invalid_input` when it is malformed, including a body cut short
 * before its closing boundary (`--boundary--`), which a lenient parser would read as fewer
 * fields.
 */
export async function parseFormData(body: Uint8Array, contentType: string): Promise<FormData> {
  const boundary = contentType.match(/;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i);
  const delimiter = boundary?.[1] ?? boundary?.[2];
  if (delimiter === undefined) throw malformedMultipart("Content-Type names no boundary");
  if (lastIndexOfBytes(body, new TextEncoder().encode(`--${delimiter}--`)) < 0) {
    throw malformedMultipart("it has no closing boundary (was it cut short?)");
  }
  try {
    const request = new Request("http://body.invalid/", {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { "content-type": contentType },
    });
    return await request.formData();
  } catch (cause) {
    throw malformedMultipart("its parts do not parse", cause);
  }
}

/** Throws `invalid_input` listing the fields of `names` that are not in `known`. */
export function assertKnownFields(names: Iterable<string>, known: readonly string[]): void {
  const unknown = [...new Set(names)].filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  throw new EditMGTError(
    "invalid_input",
    `unknown field(s) ${nameList(unknown)}; the fields are ${known.join(", ")}`,
    { details: { fields: unknown.slice(0, MAX_LISTED).map((name) => clip(name)) } },
  );
}

/** The one value of form field `name`; `invalid_input` when it is repeated. */
export function singleField(form: FormData, name: string): FormDataEntryValue | undefined {
  const values = form.getAll(name);
  if (values.length > 1) {
    throw new EditMGTError(
      "invalid_input",
      `field "${clip(name)}" is given ${values.length} times`,
      {
        details: { field: name },
      },
    );
  }
  return values[0];
}

/** The bytes of file field `name` (undefined when absent); `invalid_input` for a text value. */
export async function fileField(form: FormData, name: string): Promise<Uint8Array | undefined> {
  const value = singleField(form, name);
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    throw new EditMGTError(
      "invalid_input",
      `field "${name}" must be a file upload (curl: -F ${name}=@file.png)`,
      { details: { field: name } },
    );
  }
  return new Uint8Array(await value.arrayBuffer());
}

/** The text of field `name` (undefined when absent); `invalid_input` for a file. */
export function textField(form: FormData, name: string): string | undefined {
  const value = singleField(form, name);
  if (value === undefined || typeof value === "string") return value;
  throw new EditMGTError("invalid_input", `field "${name}" must be text, not a file`, {
    details: { field: name },
  });
}

/** Parses JSON text; `invalid_input` naming `what` when it is not JSON. */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new EditMGTError("invalid_input", `${what} is not valid JSON: ${cause}`, { cause });
  }
}

interface RawEdit {
  fields: Record<string, unknown>;
  image: Uint8Array | undefined;
  mask: Uint8Array | undefined;
}

async function readMultipart(body: Uint8Array, contentType: string): Promise<RawEdit> {
  const form = await parseFormData(body, contentType);
  assertKnownFields(form.keys(), MULTIPART_FIELDS);
  const options = textField(form, "options");
  const fields: Record<string, unknown> = {
    instruction: textField(form, "instruction"),
    model: textField(form, "model"),
    options: options === undefined ? undefined : parseJsonText(options, 'field "options"'),
  };
  return {
    fields: Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)),
    image: await fileField(form, "image"),
    mask: await fileField(form, "mask"),
  };
}

function readJson(body: Uint8Array): RawEdit {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch (cause) {
    throw new EditMGTError("invalid_input", "the JSON body is not UTF-8 text", { cause });
  }
  const value = parseJsonText(text, "the JSON body");
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new EditMGTError("invalid_input", "the JSON body must be an object");
  }
  const { image, mask, ...fields } = value as Record<string, unknown>;
  assertKnownFields(Object.keys(fields), JSON_FIELDS);
  return {
    fields,
    image: image === undefined ? undefined : decodeBase64Image(image, "image"),
    mask: mask === undefined || mask === null ? undefined : decodeBase64Image(mask, "mask"),
  };
}

/**
 * Checks an instruction (or OpenAI prompt) against the server's limit: `invalid_input` naming
 * `field` when it has nothing visible in it or more than `maxChars` characters as typed.
 */
export function checkPrompt(text: string, maxChars: number, field: string): string {
  const trimmed = text.trim();
  const length = promptLength(trimmed);
  if (isBlankPrompt(trimmed) || length > maxChars) {
    throw new EditMGTError(
      "invalid_input",
      `${field} must have 1 to ${maxChars} visible characters, got ` +
        (isBlankPrompt(trimmed) ? "none" : String(length)),
      { details: { field } },
    );
  }
  return trimmed;
}

/**
 * Parses and validates an edit request body of `contentType`. Throws typed errors:
 * `unsupported_format` (415) for another content type, `invalid_input` / `invalid_option` (400)
 * for bad fields, and the image errors found from the headers (`payload_too_large` from the
 * pixel count, truncated or unsupported images). The pixels are not decoded here.
 */
export async function readEditSubmission(
  body: Uint8Array,
  contentType: string,
  limits: ServerLimits,
): Promise<EditSubmission> {
  const type = mediaType(contentType);
  let raw: RawEdit;
  if (type === "multipart/form-data") raw = await readMultipart(body, contentType);
  else if (type === "application/json") raw = readJson(body);
  else {
    throw new EditMGTError(
      "unsupported_format",
      `Content-Type "${type || "(none)"}" is not accepted: send multipart/form-data or ` +
        "application/json",
    );
  }
  const { options, ...rest } = raw.fields;
  const checkedOptions = parseEditOptions(options);
  const parsed = parseWith(EditRequestSchema, rest, "invalid_input");
  const instruction = checkPrompt(parsed.instruction, limits.maxInstructionChars, "instruction");
  if (raw.image === undefined) {
    throw new EditMGTError("invalid_input", 'the image is missing (field "image")', {
      details: { field: "image" },
    });
  }
  const image = checkImage(raw.image, limits.maxImagePixels);
  const mask = raw.mask === undefined ? undefined : checkImage(raw.mask, limits.maxImagePixels);
  if (mask) assertSameSize(image, mask);
  return {
    ...(parsed.model === undefined ? {} : { model: parsed.model }),
    instruction,
    options: checkedOptions,
    image,
    ...(mask === undefined ? {} : { mask }),
  };
}
