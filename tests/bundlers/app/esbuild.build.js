// The same app built with esbuild, as the README's esbuild recipe does it. esbuild bundles
// imports but leaves `new URL("…", import.meta.url)` alone, so two things that Vite does by
// itself are done here:
//   1. the SDK's worker: `createEditor` starts `new URL("./worker.js", import.meta.url)`, so a
//      second entry point named `worker` (a module that calls `serveEditorWorker()`) is written
//      beside the chunks, where that URL points;
//   2. the WebAssembly files that onnxruntime-web and the image codecs load with
//      `new URL("name.wasm", import.meta.url)` are copied beside the chunks from the packages
//      that name them.
import { copyFile, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

// The package is on JSR; the aliases stand in for `npx jsr add @editmgt/editmgt` (see
// vite.config.js) and point at the sources JSR publishes.
const source = (path) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const outdir = process.env.OUT_DIR ?? "dist-esbuild";

await rm(outdir, { recursive: true, force: true });
const { metafile } = await esbuild.build({
  entryPoints: [
    { in: "src/main.js", out: "main" },
    // What the SDK's `new URL("./worker.js", import.meta.url)` loads.
    { in: "src/editor-worker.js", out: "worker" },
    // The app's own worker (main.js's `appWorker`).
    { in: "src/editor-worker.js", out: "editor-worker" },
  ],
  alias: {
    "@editmgt/editmgt/sdk/worker": source("sdk/engine_worker.ts"),
    "@editmgt/editmgt/sdk": source("sdk/mod.ts"),
  },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  outdir,
  metafile: true,
  logLevel: "warning",
});

// Every `.wasm` file named in the output, found beside the package files it came from.
const wanted = new Set();
for (const file of Object.keys(metafile.outputs).filter((name) => name.endsWith(".js"))) {
  const code = await readFile(file, "utf8");
  for (const [, name] of code.matchAll(/["']([\w.-]+\.wasm)["']/g)) wanted.add(name);
}
const folders = new Set(Object.keys(metafile.inputs).map((input) => dirname(input)));
for (const name of wanted) {
  const copied = await firstCopy(name, [...folders]);
  if (!copied) throw new Error(`the bundle loads ${name}, found in no package it came from`);
}

await writeFile(
  join(outdir, "index.html"),
  '<!doctype html>\n<meta charset="utf-8" />\n<title>EditMGT in an esbuild app</title>\n' +
    '<script type="module" src="./main.js"></script>\n',
);

async function firstCopy(name, candidates) {
  for (const folder of candidates) {
    try {
      await copyFile(join(folder, name), join(outdir, name));
      return true;
    } catch (error) {
      if (error.code !== "ENOENT") throw error;
    }
  }
  return false;
}
