/**
 * Builds the browser SDK with Deno's own bundler: `sdk/mod.ts` (the page's entry) and
 * `sdk/worker.js` (the engine's Web Worker) into one folder of ES modules with shared chunks,
 * plus the WebAssembly files the bundled code loads relative to itself (onnxruntime-web's
 * runtimes, the image codecs). The edge server serves the folder at `/sdk/`.
 *
 *     deno task build:sdk            # writes dist/sdk/
 *     deno run -A sdk/build.ts OUTDIR
 *
 * @module
 */

/** Options for {@linkcode buildSdk}. */
export interface BuildOptions {
  /** Output folder, emptied first. Default `dist/sdk` in the repository. */
  outdir?: string | URL;
  /** Minify the JavaScript (default true). */
  minify?: boolean;
}

/** What {@linkcode buildSdk} wrote. */
export interface BuildReport {
  /** The output folder's path. */
  outdir: string;
  /** File names written, with sizes in bytes. */
  files: { name: string; bytes: number }[];
}

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
  const outdir = pathOf(options.outdir ?? new URL("dist/sdk/", REPOSITORY));
  await Deno.remove(outdir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
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
    ...ENTRIES.map((entry) => pathOf(new URL(entry, REPOSITORY))),
  ];
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: pathOf(REPOSITORY),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`deno bundle failed:\n${new TextDecoder().decode(stderr)}`);
  await copyWasmFiles(outdir);
  const files: BuildReport["files"] = [];
  for await (const entry of Deno.readDir(outdir)) {
    files.push({ name: entry.name, bytes: (await Deno.stat(`${outdir}/${entry.name}`)).size });
  }
  files.sort((a, b) => a.name.localeCompare(b.name));
  return { outdir, files };
}

/** Copies every `.wasm` file that the bundled code names from the npm packages it came from. */
async function copyWasmFiles(outdir: string): Promise<void> {
  const wanted = new Set<string>();
  for await (const entry of Deno.readDir(outdir)) {
    if (!entry.name.endsWith(".js")) continue;
    const code = await Deno.readTextFile(`${outdir}/${entry.name}`);
    for (const [, name] of code.matchAll(WASM_REFERENCE)) wanted.add(name);
  }
  const found = await findPackageFiles(wanted);
  const missing = [...wanted].filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new Error(`the bundle loads ${missing.join(", ")}, not found under node_modules`);
  }
  for (const [name, path] of found) await Deno.copyFile(path, `${outdir}/${name}`);
}

/** Paths of files named in `names` inside the installed npm packages (node_modules/.deno). */
async function findPackageFiles(names: Set<string>): Promise<Map<string, string>> {
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
  await walk(pathOf(new URL("node_modules/.deno/", REPOSITORY)), 6);
  return found;
}

function pathOf(location: string | URL): string {
  const path = location instanceof URL ? decodeURIComponent(location.pathname) : location;
  return path.endsWith("/") ? path.slice(0, -1) : path;
}

if (import.meta.main) {
  const { outdir, files } = await buildSdk(Deno.args[0] ? { outdir: Deno.args[0] } : {});
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  console.log(`wrote ${files.length} files (${(total / 1e6).toFixed(1)} MB) to ${outdir}`);
  const first = await firstLoad(outdir);
  console.log(
    `first load (mod.js and its static imports): ${first.files.length} files, ${
      (first.bytes / 1e3).toFixed(1)
    } kB`,
  );
}
