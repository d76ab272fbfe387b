/**
 * Shared set-up of the server tests: the random-weights fixture model, a real app on a
 * loopback port, captured logs and test images.
 *
 * @module
 */

import { createImage, encodeImage, type RgbaImage } from "../../src/image/mod.ts";
import type { LogRecord } from "../../src/server/logging/index.ts";
import { createApp, type EditServer, type ServerOptions } from "../../src/server/mod.ts";

/** The random-weights tiny model package (real ONNX graphs, tiny dimensions). */
export const FIXTURE_MODEL = "tests/fixtures/tiny-random";
/** Its manifest id. */
export const FIXTURE_ID = "editmgt-tiny-random";

/** A running app: in-process (`app.request`) and on a loopback port (`url`). */
export interface TestServer {
  /** The app. */
  app: EditServer;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every log record so far. */
  logs: LogRecord[];
  /** Stops the HTTP server and closes the app. */
  close(): Promise<void>;
}

/** Starts an app on the fixture model (in-memory KV unless given) and serves it on loopback. */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const logs: LogRecord[] = [];
  const app = createApp({
    models: [FIXTURE_MODEL],
    kv: ":memory:",
    logger: (record) => logs.push(record),
    ...options,
  });
  await app.ready;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    app,
    url: `http://127.0.0.1:${server.addr.port}`,
    logs,
    async close() {
      await server.shutdown();
      await app.close();
    },
  };
}

/** Waits for every engine of `server` to be ready (`/readyz` 200). */
export async function waitReady(server: TestServer, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await server.app.request("/readyz");
    await response.body?.cancel();
    if (response.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the server did not become ready");
}

/** A 48x40 image: grey background, a red square in the top-left quarter. */
export function sourceImage(): RgbaImage {
  const image = createImage({ width: 48, height: 40 }, [128, 128, 128, 255]);
  for (let y = 4; y < 18; y++) {
    for (let x = 4; x < 20; x++) image.data.set([220, 30, 30, 255], (y * 48 + x) * 4);
  }
  return image;
}

/** {@linkcode sourceImage} as PNG bytes. */
export function sourcePng(): Promise<Uint8Array> {
  return encodeImage(sourceImage());
}

/** A multipart edit request body. */
export function editForm(
  image: Uint8Array,
  fields: Record<string, string> = {},
  mask?: Uint8Array,
): FormData {
  const form = new FormData();
  form.set("image", new File([image as Uint8Array<ArrayBuffer>], "in.png", { type: "image/png" }));
  if (mask) form.set("mask", new File([mask as Uint8Array<ArrayBuffer>], "mask.png"));
  form.set("instruction", fields.instruction ?? "make the red square blue");
  for (const [name, value] of Object.entries(fields)) {
    if (name !== "instruction") form.set(name, value);
  }
  return form;
}

/** One server-sent event. */
export interface SseEvent {
  /** Event name. */
  event: string;
  /** Parsed JSON data. */
  data: Record<string, unknown>;
}

/** Reads a whole SSE stream (until the server ends it). */
export async function readEvents(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  const events: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n");
    const event = lines.find((line) => line.startsWith("event:"))?.slice(6).trim();
    const data = lines.filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).trim()).join("\n");
    if (event) events.push({ event, data: JSON.parse(data) });
  }
  return events;
}

/** Polls `GET /v1/edits/:id` until the job is final. */
export async function waitFinal(
  app: EditServer,
  id: string,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const job = await (await app.request(`/v1/edits/${id}`)).json();
    if (["completed", "failed", "cancelled"].includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`edit ${id} did not finish`);
}

/** What {@linkcode rawExchange} saw. */
export interface RawAnswer {
  /** The status of the answer, or null when the server closed without one. */
  status: number | null;
  /** Everything the server sent. */
  text: string;
  /** Whether the server closed the connection (before `waitMs` ran out). */
  closed: boolean;
}

/**
 * Sends `head` (request line and headers, without the blank line) and `body` over a plain TCP
 * connection to `url`, then optionally closes the sending side, and reads until the server
 * closes the connection or `waitMs` passes; `thenSend` is sent once an answer has begun to
 * arrive. For clients that `fetch` cannot be: bodies shorter than their `Content-Length`,
 * stalled uploads, methods such as TRACE.
 */
export async function rawExchange(
  url: string,
  head: string,
  body: string | Uint8Array = "",
  options: { closeWrite?: boolean; waitMs?: number; thenSend?: string } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const encoder = new TextEncoder();
  await conn.write(encoder.encode(`${head}\r\n\r\n`));
  if (body.length > 0) await conn.write(typeof body === "string" ? encoder.encode(body) : body);
  if (options.closeWrite) await conn.closeWrite();
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(16 * 1024);
  let closed = false;
  const deadline = Date.now() + (options.waitMs ?? 5_000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    while (Date.now() < deadline) {
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), deadline - Date.now());
      });
      const read = await Promise.race([conn.read(buffer).catch(() => null), timeout]);
      clearTimeout(timer);
      if (read === "timeout") break;
      if (read === null) {
        closed = true;
        break;
      }
      chunks.push(decoder.decode(buffer.subarray(0, read), { stream: true }));
      if (options.thenSend !== undefined) {
        await conn.write(encoder.encode(options.thenSend)).catch(() => {});
        delete options.thenSend;
      }
    }
  } finally {
    clearTimeout(timer);
    conn.close();
  }
  const text = chunks.join("");
  const status = text.match(/^HTTP\/1\.[01] (\d{3})/)?.[1];
  return { status: status === undefined ? null : Number(status), text, closed };
}

/** An app that accepts jobs without running them (no engine): the routes only, its log kept. */
export async function routesApp(
  options: Partial<ServerOptions> = {},
): Promise<{ app: EditServer; logs: LogRecord[] }> {
  const logs: LogRecord[] = [];
  const app = createApp({
    models: [FIXTURE_MODEL],
    worker: false,
    logger: (record) => logs.push(record),
    ...options,
  });
  await app.ready;
  return { app, logs };
}
