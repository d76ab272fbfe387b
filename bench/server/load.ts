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
 * Usage: `deno run -A --unstable-kv bench/server/load.ts [--seconds 10] [--json out.json]`
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

/** Starts the server subprocess with `env` and returns its URL and a stop function. */
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

const png = await benchImage();
const results: Result[] = [];

const server = await startServer({});
try {
  const models = await (await fetch(`${server.url}/v1/models`)).json();
  const model = models.data[0];
  const manifest = await (await fetch(`${server.url}${model.manifest}`)).json();
  const files = manifest.components.flatMap((c: { files: { path: string; bytes: number }[] }) =>
    c.files
  );
  const largest = files.sort((a: { bytes: number }, b: { bytes: number }) => b.bytes - a.bytes)[0];
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
const out = option("json");
if (out) await Deno.writeTextFile(out, JSON.stringify(results, null, 2));
