/**
 * Answers a GET or HEAD for one representation (a model file or a manifest): conditional
 * requests (`If-None-Match` -> 304, `If-Range`), single byte ranges (206 / 416) and streaming
 * from disk without reading the whole file.
 *
 * @module
 */

import { EditMGTError } from "../../errors/mod.ts";
import { parseRange } from "./range.ts";

/** Where the bytes of a representation come from. */
export type RepresentationBody = Uint8Array | URL;

/** One servable representation. */
export interface Representation {
  /** The bytes in memory, or the file holding them. */
  body: RepresentationBody;
  /** Size in bytes. */
  size: number;
  /** Strong ETag (quoted). */
  etag: string;
  /** Media type. */
  contentType: string;
  /** `Cache-Control` value. */
  cacheControl: string;
}

const CHUNK_BYTES = 64 * 1024;

/** Whether an `If-None-Match` header matches `etag` (weak comparison, as RFC 9110 wants). */
function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === opaque);
}

/** Streams `length` bytes of an open file from its current position, closing it at the end. */
function fileStream(file: Deno.FsFile, length: number): ReadableStream<Uint8Array> {
  let remaining = length;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (remaining === 0) {
        file.close();
        controller.close();
        return;
      }
      const chunk = new Uint8Array(Math.min(CHUNK_BYTES, remaining));
      const read = await file.read(chunk);
      if (read === null) {
        file.close();
        controller.error(new Error("the file became shorter while it was being sent"));
        return;
      }
      remaining -= read;
      controller.enqueue(chunk.subarray(0, read));
    },
    cancel() {
      file.close();
    },
  });
}

async function openBody(
  body: RepresentationBody,
  start: number,
  length: number,
): Promise<BodyInit> {
  if (body instanceof Uint8Array) return body.slice(start, start + length);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(body);
  } catch (cause) {
    throw new EditMGTError("not_found", "the model file is no longer on the server", { cause });
  }
  try {
    await file.seek(start, Deno.SeekMode.Start);
  } catch (cause) {
    file.close();
    throw cause;
  }
  return fileStream(file, length);
}

/**
 * The response to `request` (GET or HEAD) for `representation`, with `headers` added.
 *
 * @example
 * ```ts
 * import { respondWithRepresentation } from "./respond.ts";
 *
 * const response = await respondWithRepresentation(
 *   new Request("http://localhost/x", { headers: { range: "bytes=1-2" } }),
 *   {
 *     body: new Uint8Array([1, 2, 3, 4]),
 *     size: 4,
 *     etag: '"abc"',
 *     contentType: "application/octet-stream",
 *     cacheControl: "public, no-cache",
 *   },
 * );
 * console.log(response.status, response.headers.get("content-range")); // 206 bytes 1-2/4
 * ```
 */
export async function respondWithRepresentation(
  request: Request,
  representation: Representation,
  headers: Record<string, string> = {},
): Promise<Response> {
  const { size, etag } = representation;
  const common = new Headers({
    ...headers,
    "Accept-Ranges": "bytes",
    "Cache-Control": representation.cacheControl,
    "Content-Type": representation.contentType,
    ETag: etag,
  });
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch !== null && noneMatch(ifNoneMatch, etag)) {
    common.delete("Content-Type");
    return new Response(null, { status: 304, headers: common });
  }
  const ifRange = request.headers.get("if-range");
  const range = ifRange === null || (ifRange.trim() === etag && !etag.startsWith("W/"))
    ? parseRange(request.headers.get("range"), size)
    : { kind: "all" as const };
  if (range.kind === "unsatisfiable") {
    common.set("Content-Range", `bytes */${size}`);
    common.set("Content-Type", "application/json");
    const error = new EditMGTError(
      "invalid_input",
      `the Range header "${request.headers.get("range")}" does not fit a file of ${size} bytes ` +
        `(use one range, "bytes=first-last", "bytes=first-" or "bytes=-suffix")`,
    );
    return new Response(JSON.stringify(error.toJSON()), { status: 416, headers: common });
  }
  const [start, end] = range.kind === "range" ? [range.start, range.end] : [0, size - 1];
  const length = end - start + 1;
  common.set("Content-Length", String(length));
  if (range.kind === "range") common.set("Content-Range", `bytes ${start}-${end}/${size}`);
  const status = range.kind === "range" ? 206 : 200;
  if (request.method === "HEAD") return new Response(null, { status, headers: common });
  return new Response(await openBody(representation.body, start, length), {
    status,
    headers: common,
  });
}
