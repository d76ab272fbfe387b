/**
 * A small static file server for SDK tests: serves folders under URL prefixes, streamed from disk
 * (files of hundreds of MB), with Range/206 (`bytes=N-` and `bytes=A-B`), ETags and, on demand,
 * CORS for pages of another origin. It records every request with the bytes its body actually
 * sent, and misbehaves on demand (error status, HTML answers, bodies that break off, end early
 * or stall, flipped bytes, Range ignored).
 *
 * @module
 */

/** A way for the server to misbehave on one path. */
export type Fault =
  | { kind: "status"; status: number }
  | { kind: "html" }
  | { kind: "break-after"; bytes: number }
  | { kind: "stall-after"; bytes: number }
  | { kind: "end-after"; bytes: number }
  /** Flips the byte at file offset `at` in every answer that holds it. */
  | { kind: "flip-byte"; at: number }
  /** Flips the byte at file offset `at` in the first answer that holds it, then goes away. */
  | { kind: "flip-byte-once"; at: number }
  | { kind: "ignore-range" };

/** One request the server saw. */
export interface SeenRequest {
  /** URL path. */
  path: string;
  /** The Range header, if any. */
  range: string | null;
  /** The status answered. */
  status: number;
  /** File offset of the body's first byte. */
  start: number;
  /** Body bytes sent so far (a body the client drops stops counting). */
  sent: number;
}

/** A running file server. */
export interface FileServer {
  /** Its origin, with a trailing slash. */
  url: URL;
  /** Every request so far (CORS preflights left out). */
  requests: SeenRequest[];
  /** Faults by URL path; each applies to every request of its path until deleted. */
  faults: Map<string, Fault>;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Options for {@linkcode serveFiles}. */
export interface ServeOptions {
  /** Extra headers on every answer. */
  headers?: Record<string, string>;
  /** Answer CORS preflights (Range and If-Range allowed) and let any origin read answers. */
  cors?: boolean;
  /** Send ETags (size and modification time) and honour If-Range; default true. */
  etags?: boolean;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
};

const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "content-range, content-length, etag, accept-ranges",
};

/** Serves `mounts` (URL prefix -> folder path) on a free loopback port. */
export function serveFiles(mounts: Record<string, string>, options: ServeOptions = {}): FileServer {
  const requests: SeenRequest[] = [];
  const faults = new Map<string, Fault>();
  const extraHeaders = { ...options.headers, ...(options.cors ? CORS_HEADERS : {}) };
  let closed = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (options.cors && req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          ...CORS_HEADERS,
          "access-control-allow-methods": "GET, HEAD",
          "access-control-allow-headers": "range, if-range",
          "access-control-max-age": "600",
        },
      });
    }
    const path = new URL(req.url).pathname;
    const seen: SeenRequest = {
      path,
      range: req.headers.get("range"),
      status: 0,
      start: 0,
      sent: 0,
    };
    const response = await answer(req, seen, mounts, faults, extraHeaders, options.etags ?? true);
    seen.status = response.status;
    requests.push(seen);
    return response;
  });
  return {
    url: new URL(`http://127.0.0.1:${server.addr.port}/`),
    requests,
    faults,
    close: async () => {
      if (!closed) {
        closed = true;
        await server.shutdown();
      }
    },
  };
}

async function answer(
  req: Request,
  seen: SeenRequest,
  mounts: Record<string, string>,
  faults: Map<string, Fault>,
  extraHeaders: Record<string, string>,
  etags: boolean,
): Promise<Response> {
  const { path } = seen;
  const file = resolve(path, mounts);
  const fault = faults.get(path);
  if (fault?.kind === "status") {
    return new Response("failure", { status: fault.status, headers: extraHeaders });
  }
  if (fault?.kind === "html") {
    return new Response("<!doctype html><title>Not here</title>", {
      headers: { ...extraHeaders, "content-type": "text/html" },
    });
  }
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(file ?? "");
    if (!stat.isFile) throw new Error("not a file");
  } catch {
    return new Response("not found", { status: 404, headers: extraHeaders });
  }
  const size = stat.size;
  const etag = etags ? `"${size}-${stat.mtime?.getTime() ?? 0}"` : null;
  const headers = new Headers({
    ...extraHeaders,
    "content-type": TYPES[extension(file!)] ?? "application/octet-stream",
    "accept-ranges": "bytes",
    "cache-control": "no-cache",
  });
  if (etag !== null) headers.set("etag", etag);
  let status = 200;
  let start = 0;
  let end = size;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
  const ifRange = req.headers.get("if-range");
  if (range && fault?.kind !== "ignore-range" && (ifRange === null || ifRange === etag)) {
    start = Number(range[1]);
    end = range[2] === "" ? size : Math.min(size, Number(range[2]) + 1);
    if (start >= size || start >= end) {
      return new Response(null, {
        status: 416,
        headers: { ...extraHeaders, "content-range": `bytes */${size}` },
      });
    }
    status = 206;
    headers.set("content-range", `bytes ${start}-${end - 1}/${size}`);
  }
  seen.start = start;
  if (req.method === "HEAD") return new Response(null, { status, headers });
  let flipAt: number | null = null;
  if (fault?.kind === "flip-byte" || fault?.kind === "flip-byte-once") {
    if (fault.at >= start && fault.at < end) {
      flipAt = fault.at;
      if (fault.kind === "flip-byte-once") faults.delete(path);
    }
  }
  const limit = fault?.kind === "break-after" || fault?.kind === "stall-after" ||
      fault?.kind === "end-after"
    ? fault
    : null;
  if (limit === null) headers.set("content-length", String(end - start));
  const body = fileBody(file!, start, end, seen, flipAt, limit);
  return new Response(body, { status, headers });
}

/**
 * Bytes `[start, end)` of `file` as a stream, counting what it hands out in `seen.sent`; with a
 * `limit`, it sends that many bytes and then fails, ends or never ends.
 */
function fileBody(
  file: string,
  start: number,
  end: number,
  seen: SeenRequest,
  flipAt: number | null,
  limit: { kind: "break-after" | "stall-after" | "end-after"; bytes: number } | null,
): ReadableStream<Uint8Array> {
  const stop = limit === null ? end : Math.min(end, start + limit.bytes);
  let handle: Deno.FsFile | null = null;
  let position = start;
  return new ReadableStream({
    async pull(controller) {
      if (position >= stop) {
        handle?.close();
        handle = null;
        if (limit === null || limit.kind === "end-after") return controller.close();
        if (limit.kind === "stall-after") return await new Promise(() => {});
        return controller.error(new Error("connection reset by the test server"));
      }
      if (handle === null) {
        handle = await Deno.open(file);
        await handle.seek(start, Deno.SeekMode.Start);
      }
      const chunk = new Uint8Array(Math.min(1 << 20, stop - position));
      const read = await handle.read(chunk);
      if (read === null) throw new Error(`${file} ended early`);
      const bytes = chunk.subarray(0, read);
      if (flipAt !== null && flipAt >= position && flipAt < position + read) {
        bytes[flipAt - position] ^= 0xff;
      }
      position += read;
      seen.sent += read;
      controller.enqueue(bytes);
    },
    cancel() {
      handle?.close();
      handle = null;
    },
  });
}

function resolve(path: string, mounts: Record<string, string>): string | null {
  for (const [prefix, folder] of Object.entries(mounts)) {
    if (!path.startsWith(prefix)) continue;
    const rest = decodeURIComponent(path.slice(prefix.length)) || "index.html";
    if (rest.split("/").includes("..")) return null;
    return `${folder}/${rest.endsWith("/") ? `${rest}index.html` : rest}`;
  }
  return null;
}

function extension(path: string): string {
  const dot = path.lastIndexOf(".");
  return dot < 0 ? "" : path.slice(dot);
}
