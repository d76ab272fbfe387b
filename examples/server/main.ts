/**
 * `deno task start`: serves the demo page, the SDK, the tiny model and the edit API on
 * localhost. Environment:
 * - `PORT` (default 8000), `HOSTNAME` (default 127.0.0.1; 0.0.0.0 to listen on every interface)
 * - `MODEL`: model folders, comma-separated (default: models/editmgt-tiny when it has been
 *   trained, else the random-weights fixture tests/fixtures/tiny-random)
 * - `EDITMGT_KV`: Deno KV path or URL (default .editmgt/jobs.sqlite3; Deno Deploy's own KV there)
 * - `DEVICE`: node | wasm | webgpu (default node); `WORKER=0` accepts jobs without running them
 * - `DTYPE`, or the flag `--dtype` (which wins): the weights the engines load: auto (default:
 *   the variant each model lists for the device), fp32 | fp16 | int8 | q4 for every component
 *   that offers it, or per component `transformer=q4,text_encoder=int8`
 * - `API_KEYS`: comma-separated bearer keys for the edit routes (default: open)
 * - `CORS_ORIGINS`, or the flag `--cors-origins` (which wins): comma-separated origins whose
 *   pages may call the edit routes, or `*` (default: `*` without API keys, none with them;
 *   `*` with API keys is refused)
 * - `PUBLIC_URL`, or the flag `--public-url` (which wins): the base of the absolute URLs the
 *   server returns (default: `http://127.0.0.1:PORT` when listening on loopback, else none:
 *   paths). Never taken from the `Host` header.
 * - `MAX_JOBS`: edits queued or running at once before 429 (default 16)
 * - `JOB_TIMEOUT_MS`: longest an edit may run once started (default 120000; a 1024 px model on a
 *   CPU needs minutes)
 * - `MAX_UPLOADS`: request bodies read at once before 503 busy (default 16)
 * - `RATE_LIMIT`: edit submissions per minute per client (default 60; 0 turns it off)
 *
 * Before serving, it builds the browser SDK into dist/sdk when its sources changed since the
 * bundle there was built ({@linkcode buildSdkIfStale}).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createApp } from "../../src/server/mod.ts";
import type { DeviceName } from "../../src/model/backend.ts";
import { type DtypeRequest, parseDtypeRequest } from "../../src/model/variants.ts";
import { sha256Hex } from "../../src/model/verify.ts";

const TRAINED_MODEL = "models/editmgt-tiny";
const FIXTURE_MODEL = "tests/fixtures/tiny-random";

async function exists(path: string | URL): Promise<boolean> {
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

/** The repository this example lives in; the SDK is built from and into it. */
const REPOSITORY = new URL("../../", import.meta.url);
/**
 * What the SDK bundle is made of: its sources, the library sources they import (all of src/,
 * which is cheaper to read than to trace the imports) and the dependency versions.
 */
const SDK_INPUTS = ["sdk/", "src/", "deno.json", "deno.lock"];
/** The file in the bundle folder that holds the digest of the inputs it was built from. */
const BUILD_STAMP = ".build-stamp";

/** Relative paths of every file under `entry` (a folder ending in `/`, or a file). */
async function filesUnder(repository: URL, entry: string): Promise<string[]> {
  if (!entry.endsWith("/")) return await exists(new URL(entry, repository)) ? [entry] : [];
  const files: string[] = [];
  for await (const child of Deno.readDir(new URL(entry, repository))) {
    const path = `${entry}${child.name}${child.isDirectory ? "/" : ""}`;
    if (child.isDirectory) files.push(...await filesUnder(repository, path));
    else if (child.isFile) files.push(path);
  }
  return files;
}

/**
 * The sha256 of the SDK bundle's inputs in `repository`: of every input file's path and
 * contents, in path order. It changes whenever a file is added, removed, renamed or edited.
 */
export async function sdkInputsDigest(repository: URL): Promise<string> {
  const files = (await Promise.all(SDK_INPUTS.map((entry) => filesUnder(repository, entry))))
    .flat().sort();
  const lines = await Promise.all(
    files.map(async (path) =>
      `${path} ${await sha256Hex(await Deno.readFile(new URL(path, repository)))}`
    ),
  );
  return await sha256Hex(new TextEncoder().encode(lines.join("\n")));
}

/** Whether the bundle in `outdir` was built from inputs with `digest` (false when unbuilt). */
export async function sdkBundleIsCurrent(outdir: URL, digest: string): Promise<boolean> {
  try {
    return (await Deno.readTextFile(new URL(BUILD_STAMP, outdir))).trim() === digest;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Bundles the SDK into `outdir`, replacing what is there. */
export type SdkBuilder = (outdir: URL) => Promise<unknown>;

/** Where {@linkcode buildSdkIfStale} builds from and into. */
export interface SdkBuildOptions {
  /** The repository holding sdk/ and src/ (default: this one). */
  repository?: URL;
  /** The bundle folder (default `dist/sdk/` in the repository, which the server serves). */
  outdir?: URL;
  /** The build (default: `buildSdk` of the repository's sdk/build.ts). */
  build?: SdkBuilder;
}

/**
 * Builds the SDK unless the bundle folder was built from the current inputs, so that a server
 * started after a `git pull` never serves a bundle of older sources. When the bundle is up to
 * date this only reads and hashes the inputs (about 1 MB). A bundle built without a stamp (by
 * `deno task build:sdk`) is rebuilt once. A failed build is logged, not thrown: the API works
 * without the SDK. Returns whether it built.
 */
export async function buildSdkIfStale(options: SdkBuildOptions = {}): Promise<boolean> {
  const repository = options.repository ?? REPOSITORY;
  const outdir = options.outdir ?? new URL("dist/sdk/", repository);
  const buildScript = new URL("sdk/build.ts", repository);
  if (!await exists(buildScript)) return false;
  const digest = await sdkInputsDigest(repository);
  if (await sdkBundleIsCurrent(outdir, digest)) return false;
  const build = options.build ?? (async (target: URL) => {
    const module: { buildSdk: (options: { outdir: URL }) => Promise<unknown> } = await import(
      buildScript.href
    );
    await module.buildSdk({ outdir: target });
  });
  try {
    await build(outdir);
    await Deno.writeTextFile(new URL(BUILD_STAMP, outdir), `${digest}\n`);
    return true;
  } catch (error) {
    console.error(JSON.stringify({ level: "warn", msg: "SDK build failed", error: String(error) }));
    return false;
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

/** The value of flag `--name` among `args`, else of `env`. */
function setting(
  args: readonly string[],
  name: string,
  env: string | undefined,
): string | undefined {
  const { values } = parseArgs({
    args: [...args],
    options: { [name]: { type: "string" } },
    strict: false,
  });
  const value = values[name];
  return typeof value === "string" ? value : env;
}

/**
 * The CORS allowlist of the edit routes: `--cors-origins` among `args`, else `env`; `"*"`, a
 * comma-separated list, or undefined for the server's default.
 */
export function corsOriginsOption(
  args: readonly string[],
  env: string | undefined,
): string[] | "*" | undefined {
  const text = setting(args, "cors-origins", env)?.trim();
  if (text === undefined || text === "") return undefined;
  return text === "*" ? "*" : list(text);
}

/**
 * The public base URL: `--public-url` among `args`, else `env`, else the loopback address the
 * server listens on (none when it listens on another interface: URLs are then paths).
 */
export function publicUrlOption(
  args: readonly string[],
  env: string | undefined,
  listen: { hostname: string; port: number },
): string | undefined {
  const given = setting(args, "public-url", env);
  if (given !== undefined && given !== "") return given;
  return ["127.0.0.1", "localhost", "::1"].includes(listen.hostname)
    ? `http://${listen.hostname === "::1" ? "[::1]" : listen.hostname}:${listen.port}`
    : undefined;
}

/**
 * The weights the engines load: `--dtype` among `args`, else `DTYPE`, else "auto".
 *
 * @throws {EditMGTError} `invalid_option` for a value `parseDtypeRequest` refuses.
 */
export function dtypeOption(args: readonly string[], env: string | undefined): DtypeRequest {
  const text = setting(args, "dtype", env);
  return text === undefined ? "auto" : parseDtypeRequest(text);
}

/** Builds the SDK when stale, opens the KV, loads the models and serves until SIGINT/SIGTERM. */
async function serve(): Promise<void> {
  const dtype = dtypeOption(Deno.args, Deno.env.get("DTYPE"));
  await buildSdkIfStale();
  const models = list(Deno.env.get("MODEL"));
  const listen = {
    port: Number(Deno.env.get("PORT") ?? 8000),
    hostname: Deno.env.get("HOSTNAME") ?? "127.0.0.1",
  };
  const app = createApp({
    models: models.length > 0 ? models : [await defaultModel()],
    kv: await kvLocation(),
    device: (Deno.env.get("DEVICE") ?? "node") as DeviceName,
    dtype,
    worker: Deno.env.get("WORKER") !== "0",
    apiKeys: list(Deno.env.get("API_KEYS")),
    corsOrigins: corsOriginsOption(Deno.args, Deno.env.get("CORS_ORIGINS")),
    publicUrl: publicUrlOption(Deno.args, Deno.env.get("PUBLIC_URL"), listen),
    queue: { maxJobs: number("MAX_JOBS"), jobTimeoutMs: number("JOB_TIMEOUT_MS") },
    limits: { maxUploads: number("MAX_UPLOADS") },
    rateLimit: number("RATE_LIMIT") === 0
      ? false
      : { requests: number("RATE_LIMIT") ?? 60, windowMs: 60_000 },
  });
  const server = Deno.serve({
    ...listen,
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
}

if (import.meta.main) await serve();
