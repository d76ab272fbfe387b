/**
 * A bounded load test of the edge server on loopback. It starts `examples/server/main.ts` in a
 * subprocess (the model `deno task start` serves, or `MODEL`), then runs each scenario for a
 * fixed time with a fixed number of concurrent keep-alive connections and prints requests per
 * second, p50/p99 latency and the status counts:
 *
 * - manifest: `GET /models/:id/manifest.json`
 * - model file: `GET` of the largest model file, whole
 * - model range: `GET` of a 64 KiB range of it
 * - edits: `POST /v1/edits` with `Prefer: wait` (the result as PNG), a few connections
 * - overload: more clients than the queue takes; a refused client waits `Retry-After` and retries
 *
 * Then the abuse scenarios, each on a fresh server with the default limits, reporting the
 * statuses, the server's RSS before and at its peak (sampled every 50 ms from /proc) and the
 * latency of `/healthz` probed every 50 ms while the scenario runs:
 *
 * - slow bodies: 1,000 connections send their headers and part of a body, then stall
 * - large declared sizes: 50 connections declare `Content-Length: 20000000` (JSON, then
 *   multipart) and send 5 bytes
 * - pixel-heavy small files: 16 concurrent `POST /v1/images/edits` of a 65 KB PNG of
 *   4096x4096 zeros
 * - result resizing: 10 concurrent `GET /v1/edits/:id/result?size=4096x4096&format=webp`
 *
 * Usage: `deno run -A --unstable-kv bench/server/load.ts [--seconds 10] [--only regular | abuse]
 * [--json out.json]`
 *
 * @module
 */

import { createImage, encodeImage } from "../../src/image/mod.ts";

interface Scenario {
  /** Name in the report. */
  name: string;
  /** Concurrent connections. */
  connections: number;
  /** One request (a fresh one per call). */
  request(): Request;
  /** Wait `Retry-After` seconds after a 429 before the next request. */
  honourRetryAfter?: boolean;
}

interface Result {
  name: string;
  connections: number;
  seconds: number;
  requests: number;
  perSecond: number;
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, { count: number; p50Ms: number; p99Ms: number }>;
  retryAfter?: string[];
}

const args = Deno.args;
const option = (name: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const SECONDS = Number(option("seconds") ?? 10);
const OVERLOAD_QUEUE = 4;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Runs `scenario` for `seconds` and measures it. */
async function run(scenario: Scenario, seconds: number): Promise<Result> {
  const latencies: number[] = [];
  const byStatus: Record<string, number[]> = {};
  const retryAfter = new Set<string>();
  let bytes = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: scenario.connections }, async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      const response = await fetch(scenario.request());
      const body = await response.arrayBuffer();
      bytes += body.byteLength;
      const latency = performance.now() - sent;
      latencies.push(latency);
      (byStatus[response.status] ??= []).push(latency);
      const retry = response.headers.get("retry-after");
      if (retry) retryAfter.add(retry);
      if (retry && response.status === 429 && scenario.honourRetryAfter) {
        await new Promise((resolve) => setTimeout(resolve, Number(retry) * 1000));
      }
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const statuses = Object.fromEntries(
    Object.entries(byStatus).map(([status, values]) => {
      values.sort((a, b) => a - b);
      return [status, {
        count: values.length,
        p50Ms: Math.round(percentile(values, 0.5) * 10) / 10,
        p99Ms: Math.round(percentile(values, 0.99) * 10) / 10,
      }];
    }),
  );
  return {
    name: scenario.name,
    connections: scenario.connections,
    seconds: Math.round(elapsed * 10) / 10,
    requests: latencies.length,
    perSecond: Math.round(latencies.length / elapsed * 10) / 10,
    megabytesPerSecond: Math.round(bytes / elapsed / 1e5) / 10,
    p50Ms: Math.round(percentile(latencies, 0.5) * 10) / 10,
    p99Ms: Math.round(percentile(latencies, 0.99) * 10) / 10,
    statuses,
    ...(retryAfter.size > 0 ? { retryAfter: [...retryAfter] } : {}),
  };
}

/** Starts the server subprocess with `env` and returns its URL, process id and a stop function. */
async function startServer(env: Record<string, string>) {
  const kv = await Deno.makeTempDir({ prefix: "editmgt-bench-" });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "examples/server/main.ts"],
    env: { PORT: String(port), EDITMGT_KV: `${kv}/jobs.sqlite3`, RATE_LIMIT: "0", ...env },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const ready = await fetch(`${url}/readyz`).catch(() => null);
    await ready?.body?.cancel();
    if (ready?.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(kv, { recursive: true });
    },
  };
}

/** A 256x192 photo-like test image (gradient + a square) as PNG bytes. */
async function benchImage(): Promise<Uint8Array<ArrayBuffer>> {
  const image = createImage({ width: 256, height: 192 });
  for (let y = 0; y < 192; y++) {
    for (let x = 0; x < 256; x++) {
      const inSquare = x > 60 && x < 140 && y > 50 && y < 130;
      image.data.set(inSquare ? [220, 40, 40, 255] : [x, y, 160, 255], (y * 256 + x) * 4);
    }
  }
  return await encodeImage(image) as Uint8Array<ArrayBuffer>;
}

function editRequest(url: string, png: Uint8Array<ArrayBuffer>): Request {
  const form = new FormData();
  form.set("image", new File([png], "in.png", { type: "image/png" }));
  form.set("instruction", "make the red square blue");
  return new Request(`${url}/v1/edits`, {
    method: "POST",
    body: form,
    headers: { prefer: "wait", accept: "image/png" },
  });
}

/** What an abuse scenario measured. */
interface AbuseResult {
  name: string;
  statuses: Record<string, number>;
  seconds: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  healthP50Ms: number;
  healthP99Ms: number;
  healthMaxMs: number;
  note?: string;
}

/** The resident memory of process `pid` in MiB (Linux). */
async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  return Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? NaN) / 1024;
}

/**
 * Runs `work` against the server at `url` (process `pid`) while sampling its RSS and probing
 * `/healthz` every 50 ms.
 */
async function measured(
  name: string,
  server: { url: string; pid: number },
  work: () => Promise<{ statuses: Record<string, number>; note?: string }>,
): Promise<AbuseResult> {
  const rssBefore = await rssMiB(server.pid);
  let rssPeak = rssBefore;
  const health: number[] = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      rssPeak = Math.max(rssPeak, await rssMiB(server.pid));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const prober = (async () => {
    while (running) {
      const sent = performance.now();
      const response = await fetch(`${server.url}/healthz`).catch(() => null);
      await response?.body?.cancel();
      health.push(performance.now() - sent);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const started = performance.now();
  const { statuses, note } = await work();
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await Promise.all([sampler, prober]);
  health.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    name,
    statuses,
    seconds: round(seconds),
    rssBeforeMiB: Math.round(rssBefore),
    rssPeakMiB: Math.round(rssPeak),
    healthP50Ms: round(percentile(health, 0.5)),
    healthP99Ms: round(percentile(health, 0.99)),
    healthMaxMs: round(health[health.length - 1] ?? NaN),
    ...(note ? { note } : {}),
  };
}

/** A raw connection that sends `head` and `body`; `answer` reads what comes back. */
async function rawUpload(url: string, head: string, body: string) {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(`${head}\r\n\r\n${body}`));
  let text = "";
  let closed = false;
  const reading = (async () => {
    const buffer = new Uint8Array(4096);
    for (;;) {
      const read = await conn.read(buffer).catch(() => null);
      if (read === null) {
        closed = true;
        return;
      }
      text += new TextDecoder().decode(buffer.subarray(0, read));
    }
  })();
  return {
    status: () => text.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? "none",
    closed: () => closed,
    close() {
      try {
        conn.close();
      } catch {
        // already closed by the server
      }
      return reading;
    },
  };
}

const count = (values: string[]) =>
  values.reduce<Record<string, number>>((counts, value) => {
    counts[value] = (counts[value] ?? 0) + 1;
    return counts;
  }, {});

/** Headers of an upload to `path` declaring `length` bytes. */
function uploadHead(url: string, path: string, type: string, length: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: ${type}\r\n` +
    `Content-Length: ${length}`;
}

async function slowBodies(server: { url: string; pid: number }): Promise<AbuseResult> {
  return await measured("slow bodies (1,000 stalled uploads)", server, async () => {
    const uploads = [];
    for (let i = 0; i < 1_000; i++) {
      uploads.push(
        await rawUpload(
          server.url,
          uploadHead(server.url, "/v1/edits", "application/json", 10_000),
          '{"instruction": "x", "image": "iVBOR',
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 32_000));
    const open = uploads.filter((upload) => !upload.closed()).length;
    const statuses = count(uploads.map((upload) => upload.status()));
    await Promise.all(uploads.map((upload) => upload.close()));
    return { statuses, note: `${open} of 1000 connections still open after 32 s` };
  });
}

async function largeDeclaredSizes(
  server: { url: string; pid: number },
  type: string,
): Promise<AbuseResult> {
  const name = `large declared sizes (50 x 20 MB declared, 5 B sent, ${type.split(";")[0]})`;
  return await measured(name, server, async () => {
    const uploads = await Promise.all(
      Array.from(
        { length: 50 },
        () => rawUpload(server.url, uploadHead(server.url, "/v1/edits", type, 20_000_000), '{"in'),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const statuses = count(uploads.map((upload) => upload.status()));
    await Promise.all(uploads.map((upload) => upload.close()));
    return { statuses };
  });
}

async function pixelHeavy(
  server: { url: string; pid: number },
  bomb: Uint8Array<ArrayBuffer>,
): Promise<AbuseResult> {
  const name = `pixel-heavy small files (16 x ${
    Math.round(bomb.length / 1024)
  } KB PNG of 4096x4096)`;
  return await measured(name, server, async () => {
    const statuses = await Promise.all(Array.from({ length: 16 }, async () => {
      const form = new FormData();
      form.set("image", new File([bomb], "zeros.png", { type: "image/png" }));
      form.set("prompt", "make the red square blue");
      const response = await fetch(`${server.url}/v1/images/edits`, { method: "POST", body: form });
      await response.body?.cancel();
      return String(response.status);
    }));
    return { statuses: count(statuses) };
  });
}

async function resultResizing(
  server: { url: string; pid: number },
  png: Uint8Array<ArrayBuffer>,
): Promise<AbuseResult> {
  const job = await (await fetch(editRequest(server.url, png))).headers.get("content-location");
  const result = `${server.url}${new URL(job!, server.url).pathname}/result`;
  return await measured("result resizing (10 x 4096x4096 WebP)", server, async () => {
    const statuses = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const response = await fetch(`${result}?size=4096x${4096 - (i % 2)}&format=webp`);
      await response.body?.cancel();
      return String(response.status);
    }));
    return { statuses: count(statuses) };
  });
}

/** One edit and one refused upload, so that no scenario measures code paths running cold. */
async function warmUp(url: string, png: Uint8Array<ArrayBuffer>): Promise<void> {
  await (await fetch(editRequest(url, png))).body?.cancel();
  const refused = await fetch(`${url}/v1/edits`, {
    method: "POST",
    body: "{}",
    headers: { "content-type": "application/json" },
  });
  await refused.body?.cancel();
}

const png = await benchImage();
const results: Result[] = [];
const abuse: AbuseResult[] = [];
const only = option("only");

if (only === undefined || only === "abuse") {
  const bomb = await encodeImage(createImage({ width: 4096, height: 4096 })) as Uint8Array<
    ArrayBuffer
  >;
  const scenarios: ((server: { url: string; pid: number }) => Promise<AbuseResult>)[] = [
    slowBodies,
    (server) => largeDeclaredSizes(server, "application/json"),
    (server) => largeDeclaredSizes(server, "multipart/form-data; boundary=XyZ"),
    (server) => pixelHeavy(server, bomb),
    (server) => resultResizing(server, png),
  ];
  for (const scenario of scenarios) {
    const server = await startServer({});
    try {
      await warmUp(server.url, png);
      abuse.push(await scenario(server));
    } finally {
      await server.stop();
    }
  }
}

if (only === undefined || only === "regular") {
  const server = await startServer({});
  try {
    const models = await (await fetch(`${server.url}/v1/models`)).json();
    const model = models.data[0];
    const manifest = await (await fetch(`${server.url}${model.manifest}`)).json();
    const files = manifest.components.flatMap((c: { files: { path: string; bytes: number }[] }) =>
      c.files
    );
    const largest = files.sort((a: { bytes: number }, b: { bytes: number }) =>
      b.bytes - a.bytes
    )[0];
    const fileUrl = `${server.url}/models/${model.id}/${largest.path}`;
    console.error(`model ${model.id}; largest file ${largest.path} (${largest.bytes} bytes)`);
    const scenarios: Scenario[] = [
      {
        name: "manifest",
        connections: 16,
        request: () => new Request(`${server.url}${model.manifest}`),
      },
      {
        name: `model file (${largest.bytes} B)`,
        connections: 16,
        request: () => new Request(fileUrl),
      },
      {
        name: "model range (64 KiB)",
        connections: 16,
        request: () => new Request(fileUrl, { headers: { range: "bytes=0-65535" } }),
      },
      { name: "edits (Prefer: wait)", connections: 4, request: () => editRequest(server.url, png) },
    ];
    for (const scenario of scenarios) results.push(await run(scenario, SECONDS));
  } finally {
    await server.stop();
  }

  const overloaded = await startServer({ MAX_JOBS: String(OVERLOAD_QUEUE) });
  try {
    results.push(
      await run({
        name: `overload (queue ${OVERLOAD_QUEUE}, 16 clients)`,
        connections: 16,
        request: () => editRequest(overloaded.url, png),
        honourRetryAfter: true,
      }, SECONDS),
    );
  } finally {
    await overloaded.stop();
  }
}

console.log("| scenario | conns | req/s | MB/s | p50 ms | p99 ms | statuses (count, p50/p99 ms) |");
console.log("|---|---|---|---|---|---|---|");
for (const r of results) {
  const statuses = Object.entries(r.statuses)
    .map(([status, s]) => `${status}: ${s.count} (${s.p50Ms}/${s.p99Ms})`).join(", ");
  console.log(
    `| ${r.name} | ${r.connections} | ${r.perSecond} | ${r.megabytesPerSecond} | ${r.p50Ms} | ` +
      `${r.p99Ms} | ${statuses}${
        r.retryAfter ? ` (Retry-After ${r.retryAfter.join("/")} s)` : ""
      } |`,
  );
}
if (abuse.length > 0) {
  console.log(
    "\n| scenario | statuses | s | RSS before → peak MiB | /healthz p50 / p99 / max ms |",
  );
  console.log("|---|---|---|---|---|");
  for (const r of abuse) {
    const statuses = Object.entries(r.statuses).map(([status, n]) => `${status}: ${n}`).join(", ");
    console.log(
      `| ${r.name} | ${statuses}${r.note ? `; ${r.note}` : ""} | ${r.seconds} | ` +
        `${r.rssBeforeMiB} → ${r.rssPeakMiB} | ${r.healthP50Ms} / ${r.healthP99Ms} / ${r.healthMaxMs} |`,
    );
  }
}
const out = option("json");
if (out) await Deno.writeTextFile(out, JSON.stringify({ results, abuse }, null, 2));
