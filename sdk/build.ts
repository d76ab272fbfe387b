/**
 * Builds the browser SDK with Deno's own bundler: `sdk/mod.ts` (the page's entry) and
 * `sdk/worker.js` (the engine's Web Worker) into one folder of ES modules with shared chunks,
 * plus the WebAssembly files the bundled code loads relative to itself (onnxruntime-web's
 * runtimes, the image codecs). The edge server serves the folder at `/sdk/`.
 *
 *     deno task build:sdk            # writes dist/sdk/
 *     deno run -A sdk/build.ts OUTDIR
 *
 * It is published with the package, so an installed package (from JSR, read over https) builds
 * its own SDK too: `deno run -A jsr:@editmgt/editmgt/...` cannot name it (not an export), but its
 * URL can, and the edge server does so when it has no SDK folder (src/server/static/sdk.ts).
 * There the npm packages the bundle needs are installed into a working folder of their own.
 *
 * @module
 */

/** Options for {@linkcode buildSdk}. */
export interface BuildOptions {
  /** Output folder, emptied first. Default `dist/sdk` in the repository. */
  outdir?: string | URL;
  /** Minify the JavaScript (default true). */
  minify?: boolean;
  /**
   * Only for a package read over a URL (installed from JSR): the folder `deno bundle` runs in and
   * installs the npm packages into (its `node_modules`, where the `.wasm` files are copied from).
   * Default: a new temporary folder, removed afterwards.
   */
  workdir?: string;
}

/** What {@linkcode buildSdk} wrote. */
export interface BuildReport {
  /** The output folder's path. */
  outdir: string;
  /** File names written, with sizes in bytes. */
  files: { name: string; bytes: number }[];
}

import { parseArgs } from "node:util";
import { firstLoad } from "./first_load.ts";

const REPOSITORY = new URL("../", import.meta.url);
const ENTRIES = ["sdk/mod.ts", "sdk/worker.js"];
/** A WebAssembly file name in quotes, as bundled code refers to the files it loads. */
const WASM_REFERENCE = /["']([\w.-]+\.wasm)["']/g;

/**
 * Bundles the SDK into `outdir`.
 *
 * @example
 * ```ts
 * import { buildSdk } from "./build.ts"; // sdk/build.ts
 *
 * const { files } = await buildSdk({ outdir: "dist/sdk" });
 * console.log(files.map((file) => file.name));
 * ```
 */
export async function buildSdk(options: BuildOptions = {}): Promise<BuildReport> {
  if (options.outdir === undefined && REPOSITORY.protocol !== "file:") {
    throw new Error(`the package was read from ${REPOSITORY.href}: give the output folder`);
  }
  const outdir = pathOf(options.outdir ?? new URL("dist/sdk/", REPOSITORY));
  await Deno.remove(outdir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  if (REPOSITORY.protocol === "file:") {
    await bundle(outdir, pathOf(REPOSITORY), options);
  } else {
    const workdir = options.workdir ?? await Deno.makeTempDir({ prefix: "editmgt-sdk-work-" });
    try {
      // The published files name their npm packages in full (`npm:onnxruntime-web@1.30.0`):
      // no import map, only a node_modules folder to find the `.wasm` files in.
      await Deno.writeTextFile(
        `${workdir}/deno.json`,
        JSON.stringify({ nodeModulesDir: "auto", lock: false }),
      );
      await bundle(outdir, workdir, options);
    } finally {
      if (options.workdir === undefined) await Deno.remove(workdir, { recursive: true });
    }
  }
  const files: BuildReport["files"] = [];
  for await (const entry of Deno.readDir(outdir)) {
    files.push({ name: entry.name, bytes: (await Deno.stat(`${outdir}/${entry.name}`)).size });
  }
  files.sort((a, b) => a.name.localeCompare(b.name));
  return { outdir, files };
}

/**
 * Runs `deno bundle` of the entries in `cwd` (the package's folder, or the working folder of a
 * package read over a URL), then copies the `.wasm` files from `cwd`'s node_modules.
 */
async function bundle(outdir: string, cwd: string, options: BuildOptions): Promise<void> {
  const args = [
    "bundle",
    "--quiet",
    "--platform",
    "browser",
    "--format",
    "esm",
    "--code-splitting",
    "--sourcemap",
    "linked",
    "--outdir",
    outdir,
    ...(options.minify === false ? [] : ["--minify"]),
    ...ENTRIES.map((entry) => entryOf(new URL(entry, REPOSITORY))),
  ];
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`deno bundle failed:\n${new TextDecoder().decode(stderr)}`);
  await copyWasmFiles(outdir, `${cwd}/node_modules/.deno`);
}

/**
 * Copies every `.wasm` file that the bundled code names from the npm packages it came from
 * (installed under `packages`, a node_modules/.deno folder).
 */
async function copyWasmFiles(outdir: string, packages: string): Promise<void> {
  const wanted = new Set<string>();
  for await (const entry of Deno.readDir(outdir)) {
    if (!entry.name.endsWith(".js")) continue;
    const code = await Deno.readTextFile(`${outdir}/${entry.name}`);
    for (const [, name] of code.matchAll(WASM_REFERENCE)) wanted.add(name);
  }
  const found = await findPackageFiles(wanted, packages);
  const missing = [...wanted].filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new Error(`the bundle loads ${missing.join(", ")}, not found under node_modules`);
  }
  for (const [name, path] of found) await Deno.copyFile(path, `${outdir}/${name}`);
}

/** Paths of files named in `names` inside the npm packages installed under `packages`. */
async function findPackageFiles(
  names: Set<string>,
  packages: string,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (folder: string, depth: number): Promise<void> => {
    for await (const entry of Deno.readDir(folder)) {
      const path = `${folder}/${entry.name}`;
      if (entry.isFile && names.has(entry.name) && !found.has(entry.name)) {
        found.set(entry.name, path);
      } else if (entry.isDirectory && depth > 0 && entry.name !== ".bin") {
        await walk(path, depth - 1);
      }
    }
  };
  await walk(packages, 6);
  return found;
}

/** A path for a file URL, else the URL itself (an entry of a package read over https). */
function entryOf(location: URL): string {
  return location.protocol === "file:" ? pathOf(location) : location.href;
}

function pathOf(location: string | URL): string {
  const path = location instanceof URL ? decodeURIComponent(location.pathname) : location;
  return path.endsWith("/") ? path.slice(0, -1) : path;
}

if (import.meta.main) {
  const { positionals: [target], values: { workdir } } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { workdir: { type: "string" } },
  });
  const { outdir, files } = await buildSdk({ outdir: target, workdir });
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  console.log(`wrote ${files.length} files (${(total / 1e6).toFixed(1)} MB) to ${outdir}`);
  const first = await firstLoad(outdir);
  console.log(
    `first load (mod.js and its static imports): ${first.files.length} files, ${
      (first.bytes / 1e3).toFixed(1)
    } kB`,
  );
}
