/**
 * `deno task start`: serves the demo page, the SDK, the tiny model and the edit API on
 * localhost. Environment:
 * - `PORT` (default 8000), `HOSTNAME` (default 127.0.0.1; 0.0.0.0 to listen on every interface)
 * - `MODEL`: model folders, comma-separated (default: models/editmgt-tiny when it has been
 *   trained, else the random-weights fixture tests/fixtures/tiny-random)
 * - `EDITMGT_KV`: Deno KV path or URL (default .editmgt/jobs.sqlite3; Deno Deploy's own KV there)
 * - `DEVICE`: node | wasm | webgpu (default node); `WORKER=0` accepts jobs without running them
 * - `API_KEYS`: comma-separated bearer keys for the edit routes (default: open)
 * - `MAX_JOBS`: edits queued or running at once before 429 (default 16)
 * - `RATE_LIMIT`: edit submissions per minute per client (default 60; 0 turns it off)
 *
 * @module
 */

import { createApp } from "../../src/server/mod.ts";
import type { DeviceName } from "../../src/model/backend.ts";

const TRAINED_MODEL = "models/editmgt-tiny";
const FIXTURE_MODEL = "tests/fixtures/tiny-random";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The trained tiny model when it is there, else the fixture. */
async function defaultModel(): Promise<string> {
  return await exists(`${TRAINED_MODEL}/manifest.json`) ? TRAINED_MODEL : FIXTURE_MODEL;
}

/** Builds dist/sdk when it is missing and the SDK's build script exists. */
async function buildSdkIfMissing(): Promise<void> {
  if (await exists("dist/sdk") || !await exists("sdk/build.ts")) return;
  const build = new URL("../../sdk/build.ts", import.meta.url).href;
  try {
    const module: { buildSdk?: () => Promise<unknown> } = await import(build);
    await module.buildSdk?.();
  } catch (error) {
    console.error(JSON.stringify({ level: "warn", msg: "SDK build failed", error: String(error) }));
  }
}

/** The KV location: the env's, Deno Deploy's own, or a local file. */
async function kvLocation(): Promise<string | Deno.Kv> {
  const configured = Deno.env.get("EDITMGT_KV");
  if (configured) return configured;
  if (Deno.env.get("DENO_DEPLOYMENT_ID")) return await Deno.openKv();
  await Deno.mkdir(".editmgt", { recursive: true });
  return ".editmgt/jobs.sqlite3";
}

const number = (name: string) => {
  const value = Deno.env.get(name);
  return value === undefined ? undefined : Number(value);
};
const list = (value: string | undefined) =>
  (value ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");

await buildSdkIfMissing();
const models = list(Deno.env.get("MODEL"));
const app = createApp({
  models: models.length > 0 ? models : [await defaultModel()],
  kv: await kvLocation(),
  device: (Deno.env.get("DEVICE") ?? "node") as DeviceName,
  worker: Deno.env.get("WORKER") !== "0",
  apiKeys: list(Deno.env.get("API_KEYS")),
  queue: { maxJobs: number("MAX_JOBS") },
  rateLimit: number("RATE_LIMIT") === 0
    ? false
    : { requests: number("RATE_LIMIT") ?? 60, windowMs: 60_000 },
});
const server = Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 8000),
  hostname: Deno.env.get("HOSTNAME") ?? "127.0.0.1",
  onListen: ({ hostname, port }) =>
    console.log(
      JSON.stringify({ level: "info", msg: "listening", url: `http://${hostname}:${port}/` }),
    ),
}, app.fetch);

const shutdown = async () => {
  await server.shutdown();
  await app.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);
