/**
 * A small static file server for SDK tests: serves folders under URL prefixes with Range/206 and
 * ETags, records every request, and misbehaves on demand (error status, HTML answers, bodies
 * that break off, end early or stall, flipped bytes, Range ignored).
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
  | { kind: "flip-byte"; at: number }
  | { kind: "ignore-range" };

/** One request the server saw. */
export interface SeenRequest {
  /** URL path. */
  path: string;
  /** The Range header, if any. */
  range: string | null;
  /** The status answered. */
  status: number;
}

/** A running file server. */
export interface FileServer {
  /** Its origin, with a trailing slash. */
  url: URL;
  /** Every request so far. */
  requests: SeenRequest[];
  /** Faults by URL path; each applies to every request of its path until deleted. */
  faults: Map<string, Fault>;
  /** Stops the server. */
  close(): Promise<void>;
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

/**
 * Serves `mounts` (URL prefix -> folder path) on a free loopback port. Extra `headers` go on
 * every answer.
 */
export function serveFiles(
  mounts: Record<string, string>,
  headers: Record<string, string> = {},
): FileServer {
  const requests: SeenRequest[] = [];
  const faults = new Map<string, Fault>();
  let closed = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const range = req.headers.get("range");
    const response = await answer(req, path, mounts, faults, headers);
    requests.push({ path, range, status: response.status });
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
  path: string,
  mounts: Record<string, string>,
  faults: Map<string, Fault>,
  extraHeaders: Record<string, string>,
): Promise<Response> {
  const file = resolve(path, mounts);
  const fault = faults.get(path);
  if (fault?.kind === "status") return new Response("failure", { status: fault.status });
  if (fault?.kind === "html") {
    return new Response("<!doctype html><title>Not here</title>", {
      headers: { "content-type": "text/html" },
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file ?? "");
  } catch {
    return new Response("not found", { status: 404 });
  }
  if (fault?.kind === "flip-byte") {
    bytes = bytes.slice();
    bytes[fault.at] ^= 0xff;
  }
  const etag = `"${bytes.byteLength}-${await shortHash(bytes)}"`;
  const headers = new Headers({
    ...extraHeaders,
    "content-type": TYPES[extension(file!)] ?? "application/octet-stream",
    "accept-ranges": "bytes",
    etag,
    "cache-control": "no-cache",
  });
  let status = 200;
  let body = bytes;
  const range = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
  const ifRange = req.headers.get("if-range");
  if (range && fault?.kind !== "ignore-range" && (ifRange === null || ifRange === etag)) {
    const start = Number(range[1]);
    if (start >= bytes.byteLength) {
      return new Response(null, {
        status: 416,
        headers: { "content-range": `bytes */${bytes.byteLength}` },
      });
    }
    status = 206;
    body = bytes.subarray(start);
    headers.set("content-range", `bytes ${start}-${bytes.byteLength - 1}/${bytes.byteLength}`);
  }
  if (
    fault?.kind === "break-after" || fault?.kind === "stall-after" || fault?.kind === "end-after"
  ) {
    return new Response(partialBody(body, fault.bytes, fault.kind), { status, headers });
  }
  headers.set("content-length", String(body.byteLength));
  return new Response(req.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, {
    status,
    headers,
  });
}

/** A body that sends `bytes` bytes of `data`, then fails, ends or never ends. */
function partialBody(
  data: Uint8Array,
  bytes: number,
  kind: "break-after" | "stall-after" | "end-after",
): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    async pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(data.slice(0, bytes));
        return;
      }
      if (kind === "stall-after") return await new Promise(() => {});
      if (kind === "end-after") return controller.close();
      controller.error(new Error("connection reset by the test server"));
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

async function shortHash(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest.subarray(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
