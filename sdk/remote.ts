/**
 * The remote device: the same {@linkcode Editor} interface over the edge server's edit API.
 * An edit is posted as multipart form data, its progress read from the job's server-sent events
 * (steps, previews), and its result fetched as JSON with the PNG inside. Cancelling aborts the
 * event stream and cancels the job on the server.
 *
 * @module
 */

import { EditMGTError, type ErrorCode, isErrorCode } from "../src/errors/mod.ts";
import type { BinaryMask, RgbaImage } from "../src/image/types.ts";
import type { EditLocalization } from "../src/pipeline/types.ts";
import type { JobUrls, ResultJson } from "../src/schema/job.ts";
import { checkEditInputFields } from "../src/schema/request.ts";
import type { Editor, EditorCallOptions, EditorContext, EditorRequest } from "./editor.ts";
import { type ImageInput, readImageInput } from "./image_input.ts";
import { type EditorResult, editorResult, encodePng, toImageData } from "./result.ts";
import { readServerEvents } from "./sse.ts";

/** Where and how the remote device sends edits. */
export interface RemoteOptions {
  /**
   * Base URL of the edit API; default the server the manifest came from: the path before
   * `/models/<id>/` of a manifest the edge server serves (so a server mounted under a path of
   * its app is found there), else the manifest's origin.
   */
  url?: string | URL;
  /** Model id on the server; default the manifest's `id`. */
  model?: string;
  /** API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
}

/** The links of a job, as the server answers them (the wire format of `src/schema/job.ts`). */
type JobLinks = JobUrls;

/**
 * The edit API's base URL for a manifest the edge server serves (`<base>/models/<id>/manifest.json`),
 * else the manifest's origin.
 *
 * @example
 * ```ts
 * import { apiBase } from "./remote.ts";
 *
 * console.log(apiBase(new URL("https://a.example/editmgt/models/tiny/manifest.json")));
 * // "https://a.example/editmgt/"
 * ```
 */
export function apiBase(manifest: URL): string {
  const served = manifest.pathname.match(/^(.*\/)models\/[^/]+\/manifest\.json$/);
  return new URL(served ? served[1] : "/", manifest).href;
}

/** How often the event stream may drop before the edit fails. */
const MAX_RECONNECTS = 3;

/** An {@linkcode Editor} over the edit API. */
export function createRemoteEditor(context: EditorContext): Editor {
  const { model, options } = context;
  const remote = options.remote ?? {};
  const given = new URL(remote.url ?? apiBase(model.manifestUrl), model.manifestUrl);
  // A folder: "v1/edits" resolves under it, with or without the caller's trailing slash.
  const base = new URL(given.pathname.endsWith("/") ? given : `${given.href}/`);
  const modelId = remote.model ?? model.manifest.id;
  const headers: Record<string, string> = remote.apiKey
    ? { authorization: `Bearer ${remote.apiKey}` }
    : {};
  const api = (path: string) => new URL(path, base);
  options.onProgress?.({ type: "ready", device: "remote", dtypes: {} });

  const edit = async (request: EditorRequest, call: EditorCallOptions = {}) => {
    const { signal } = call;
    const job = await submit(request, signal);
    const cancel = () => {
      fetch(api(job.cancel), { method: "POST", headers }).then((r) => r.body?.cancel(), () => {});
    };
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      await follow(job, call);
      const result = await requestJson<ResultJson>(jobResultUrl(job), { headers, signal });
      return await remoteResult(result);
    } catch (error) {
      throw signal?.aborted ? abortedError(signal) : error;
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  };

  const submit = async (request: EditorRequest, signal?: AbortSignal): Promise<JobLinks> => {
    checkEditInputFields(request);
    const { image, instruction, mask, options: editOptions = {} } = request;
    const form = new FormData();
    form.set("image", await uploadable(image, signal), "image");
    if (mask !== undefined) form.set("mask", await uploadable(mask, signal), "mask");
    form.set("instruction", instruction);
    form.set("model", modelId);
    form.set("options", JSON.stringify(editOptions));
    const job = await requestJson<{ urls: JobLinks }>(api("v1/edits"), {
      method: "POST",
      body: form,
      headers,
      signal,
    });
    return job.urls;
  };

  /** Reads the job's events until it completes; reconnects when the stream drops. */
  const follow = async (job: JobLinks, call: EditorCallOptions) => {
    for (let reconnects = 0; reconnects <= MAX_RECONNECTS; reconnects++) {
      const response = await send(api(job.events), {
        headers: { ...headers, accept: "text/event-stream" },
        signal: call.signal,
      });
      for await (const { event, data } of readServerEvents(response.body!)) {
        const payload = JSON.parse(data);
        if (event === "step") {
          call.onProgress?.({ type: "step", index: payload.index, total: payload.total });
        } else if (event === "preview") {
          const preview = toImageData(await decodePng(dataUrlBytes(payload.image)));
          call.onProgress?.({ type: "step", index: payload.index, total: payload.total, preview });
        } else if (event === "completed") {
          call.onProgress?.({ type: "done" });
          return;
        } else if (event === "failed") throw errorFromBody(payload, 500);
      }
    }
    throw new EditMGTError(
      "download_failed",
      `the progress stream of the edit broke off ${MAX_RECONNECTS + 1} times; retry`,
    );
  };

  const jobResultUrl = (job: JobLinks) => {
    const url = api(job.result);
    url.searchParams.set("format", "json");
    return url;
  };

  const uploadable = async (input: ImageInput | BinaryMask, signal?: AbortSignal) => {
    if (input instanceof Blob) return input;
    if (
      typeof input === "object" && "data" in input && !(input.data instanceof Uint8ClampedArray)
    ) {
      throw new EditMGTError(
        "invalid_input",
        "the remote device takes masks as images, not as token masks",
      );
    }
    const source = await readImageInput(input as ImageInput, signal);
    return source instanceof Uint8Array
      ? new Blob([source as Uint8Array<ArrayBuffer>])
      : await encodePng(source);
  };

  const requestJson = async <T>(url: URL, init: RequestInit): Promise<T> =>
    await (await send(url, init)).json() as T;

  return {
    device: "remote",
    dtypes: {},
    reason: context.choice.reason,
    manifest: model.manifest,
    probe: context.report,
    cache: context.cache,
    edit,
    async previewRegion(request, call = {}): Promise<EditLocalization> {
      // One step of the model gives the localization map: the edit API's answer to steps = 1.
      const options = { ...request.options, steps: 1, previewEvery: 0 };
      const result = await edit({ ...request, options }, {
        signal: call.signal,
      });
      return result.localization;
    },
    // The model lives on the server: nothing to free, nothing to load.
    unload: () => Promise.resolve(),
    reload(changes = {}) {
      const { signal: _, ...rest } = changes;
      const asked = Object.keys(rest).filter((key) => rest[key as keyof typeof rest] !== undefined);
      if (asked.length === 0) return Promise.resolve();
      return Promise.reject(
        new EditMGTError(
          "invalid_option",
          `the remote device cannot change ${asked.join(", ")} (the server chooses them): ` +
            "create a new editor with the device you want",
          { details: { option: asked[0] } },
        ),
      );
    },
    dispose: () => Promise.resolve(),
  };
}

/** `fetch` that turns network failures and error answers into typed errors. */
async function send(url: URL, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (cause) {
    if (init.signal?.aborted) throw abortedError(init.signal);
    throw new EditMGTError("download_failed", `the edit API at ${url.origin} is unreachable`, {
      cause,
      details: { url: url.href },
    });
  }
  if (response.ok) return response;
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the status decides the code below.
  }
  throw errorFromBody(body, response.status);
}

/** The typed error of an error body, or one that fits the HTTP status when there is none. */
function errorFromBody(body: unknown, status: number): EditMGTError {
  const code = (body as { error?: { code?: unknown } })?.error?.code;
  if (typeof code === "string" && isErrorCode(code)) return EditMGTError.fromJSON(body);
  const byStatus: Record<number, ErrorCode> = {
    400: "invalid_input",
    401: "unauthorized",
    404: "not_found",
    413: "payload_too_large",
    415: "unsupported_format",
    429: "rate_limited",
    504: "timeout",
  };
  return new EditMGTError(
    byStatus[status] ?? "internal",
    `the edit API answered HTTP ${status}: ${
      String(typeof body === "string" ? body : JSON.stringify(body)).slice(0, 200)
    }`,
    { details: { status } },
  );
}

async function remoteResult({ result, image }: ResultJson): Promise<EditorResult> {
  if (result?.localization === undefined || result.mask === undefined) {
    throw new EditMGTError("internal", "the edit API answered a result without its maps");
  }
  const png = base64Bytes(image.base64);
  return await editorResult(
    {
      image: await decodePng(png),
      seed: result.seed,
      timings: result.timings,
      dtypes: result.dtypes ?? {},
      localization: { ...result.localization, data: Float32Array.from(result.localization.data) },
      mask: { ...result.mask, data: Uint8Array.from(result.mask.data) },
    },
    "remote",
    new Blob([png as Uint8Array<ArrayBuffer>], { type: image.contentType }),
  );
}

/** Decodes PNG bytes with the library's own decoder, so the pixels are exact. */
async function decodePng(bytes: Uint8Array): Promise<RgbaImage> {
  const { decodeImage } = await import("../src/image/codec.ts");
  const { width, height, data } = await decodeImage(bytes);
  return { width, height, data };
}

function dataUrlBytes(url: string): Uint8Array {
  return base64Bytes(url.slice(url.indexOf(",") + 1));
}

function base64Bytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function abortedError(signal: AbortSignal): EditMGTError {
  return new EditMGTError("aborted", "the edit was cancelled", { cause: signal.reason });
}
