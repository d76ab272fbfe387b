/**
 * Reading `POST /v1/edits` bodies: multipart (`image`, `mask`, `instruction`, `model`,
 * `options` as JSON) or JSON (`image`/`mask` as base64 or data URLs), validated against the
 * shared schemas, images checked before anything is queued.
 *
 * @module
 */

import { EditMGTError } from "../../errors/mod.ts";
import { EditOptionsSchema, parseWith } from "../../schema/mod.ts";
import { type EditOptions, EditRequestSchema } from "../../schema/options.ts";
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

/** The media type of a request, lowercased, without parameters. */
export function mediaType(request: Request): string {
  return (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/** Reads a multipart body; `invalid_input` when it is malformed. */
export async function readFormData(request: Request): Promise<FormData> {
  try {
    return await request.formData();
  } catch (cause) {
    throw new EditMGTError(
      "invalid_input",
      "the multipart/form-data body is malformed (check the boundary and the parts)",
      { cause },
    );
  }
}

/** The one value of form field `name`; `invalid_input` when it is repeated. */
export function singleField(form: FormData, name: string): FormDataEntryValue | undefined {
  const values = form.getAll(name);
  if (values.length > 1) {
    throw new EditMGTError("invalid_input", `field "${name}" is given ${values.length} times`, {
      details: { field: name },
    });
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

async function readMultipart(request: Request): Promise<RawEdit> {
  const form = await readFormData(request);
  const unknown = [...new Set(form.keys())].filter((name) => !MULTIPART_FIELDS.includes(name));
  if (unknown.length > 0) {
    throw new EditMGTError(
      "invalid_input",
      `unknown field(s) ${unknown.join(", ")}; the fields are ${MULTIPART_FIELDS.join(", ")}`,
      { details: { fields: unknown } },
    );
  }
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

async function readJson(request: Request): Promise<RawEdit> {
  const body = parseJsonText(await request.text(), "the JSON body");
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new EditMGTError("invalid_input", "the JSON body must be an object");
  }
  const { image, mask, ...fields } = body as Record<string, unknown>;
  return {
    fields,
    image: image === undefined ? undefined : decodeBase64Image(image, "image"),
    mask: mask === undefined || mask === null ? undefined : decodeBase64Image(mask, "mask"),
  };
}

/**
 * Reads and validates an edit request. Throws typed errors: `unsupported_format` (415) for
 * another content type, `invalid_input` / `invalid_option` (400) for bad fields, and the image
 * errors (`payload_too_large` from the header's pixel count, corrupt or unsupported images).
 */
export async function readEditSubmission(
  request: Request,
  limits: ServerLimits,
): Promise<EditSubmission> {
  const type = mediaType(request);
  let raw: RawEdit;
  if (type === "multipart/form-data") raw = await readMultipart(request);
  else if (type === "application/json") raw = await readJson(request);
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
  if (parsed.instruction.length > limits.maxInstructionChars) {
    throw new EditMGTError(
      "invalid_input",
      `the instruction has ${parsed.instruction.length} characters, over the limit of ` +
        `${limits.maxInstructionChars}`,
    );
  }
  if (raw.image === undefined) {
    throw new EditMGTError("invalid_input", 'the image is missing (field "image")', {
      details: { field: "image" },
    });
  }
  const image = await checkImage(raw.image, limits.maxImagePixels);
  const mask = raw.mask === undefined
    ? undefined
    : await checkImage(raw.mask, limits.maxImagePixels);
  if (mask) assertSameSize(image.image, mask.image);
  return {
    ...(parsed.model === undefined ? {} : { model: parsed.model }),
    instruction: parsed.instruction,
    options: checkedOptions,
    image,
    ...(mask === undefined ? {} : { mask }),
  };
}
