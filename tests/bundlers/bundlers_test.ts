/// <reference lib="dom" />
/**
 * The SDK inside an app's production build, the way web developers use it: `tests/bundlers/app`
 * imports `@editmgt/editmgt/sdk` by name and is built by Vite (`vite build`) and by esbuild
 * (`esbuild.build.js`, the README's esbuild recipe: the worker as a second entry point, the
 * `.wasm` files copied beside the chunks); each built app is served as static files and edits in
 * Chromium on WASM, with the SDK's own worker and with a worker the app makes. The builds hold no
 * Deno- or Node-only module.
 *
 * Needs the app's npm packages (`npm ci --prefix tests/bundlers/app`, which `.ci/run` does) and
 * Debian's Chromium; without them the tests are ignored, saying why.
 */

import assert from "node:assert/strict";
import { serveFiles } from "../sdk/file_server.ts";
import {
  editOnPage,
  MODEL_DIR,
  openProfile,
  skipReason as chromiumMissing,
} from "../browser/harness.ts";

const APP = new URL("./app/", import.meta.url);
const path = (url: URL) => decodeURIComponent(url.pathname).replace(/\/$/, "");
const MODEL = path(new URL(`../../${MODEL_DIR}/`, import.meta.url));
const MANIFEST = "/models/tiny-random/manifest.json";

const installed = (bin: string) =>
  Deno.stat(new URL(`node_modules/.bin/${bin}`, APP)).then(
    () => true,
    () => false,
  );
const packagesMissing = (await installed("vite")) && (await installed("esbuild"))
  ? null
  : "tests/bundlers/app lacks its npm packages (run: npm ci --prefix tests/bundlers/app)";
const skipReason = chromiumMissing ?? packagesMissing;
if (skipReason !== null) console.log(`bundler tests ignored: ${skipReason}`);

/** The app's npm build scripts, one per bundler. */
type BuildScript = "build:vite" | "build:esbuild";

/** Runs one of the app's npm build scripts with its output in `outDir`. */
async function build(script: BuildScript, outDir: string): Promise<void> {
  const { success, stdout, stderr } = await new Deno.Command("npm", {
    args: ["run", "--silent", script],
    cwd: path(APP),
    env: { OUT_DIR: outDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.ok(success, `npm run ${script} failed:\n${decode(stdout)}${decode(stderr)}`);
}

/** The built JavaScript, file by file. */
async function builtScripts(outDir: string): Promise<Map<string, string>> {
  const scripts = new Map<string, string>();
  const walk = async (folder: string) => {
    for await (const entry of Deno.readDir(folder)) {
      const file = `${folder}/${entry.name}`;
      if (entry.isDirectory) await walk(file);
      else if (entry.name.endsWith(".js")) scripts.set(file, await Deno.readTextFile(file));
    }
  };
  await walk(outDir);
  return scripts;
}

/**
 * Builds the app with `script`, serves it (with the model, and `extra` mounts) and edits in
 * Chromium with the SDK's worker and with the app's own worker; `options` go to `createEditor`.
 */
async function buildAndEdit(
  t: Deno.TestContext,
  script: BuildScript,
  extra: Record<string, string>,
  options: Record<string, unknown>,
): Promise<void> {
  const outDir = await Deno.makeTempDir({ prefix: "editmgt-bundler-" });
  const server = serveFiles({ "/models/tiny-random/": MODEL, ...extra, "/": outDir });
  const profile = await openProfile();
  try {
    await build(script, outDir);
    await t.step(
      "the build holds no Deno- or Node-only code and no inlined TypeScript",
      async () => {
        for (const [file, code] of await builtScripts(outDir)) {
          assert.doesNotMatch(code, /data:video\/mp2t/, file);
          // An import of a `node:` module (onnxruntime-web's own `require("node:os")`, reached
          // only where there is no `navigator`, is no import and stays in esbuild's output).
          assert.doesNotMatch(code, /(\bfrom\s*|\bimport\s*\(\s*)["']node:[a-z_/]+["']/, file);
          assert.doesNotMatch(code, /Deno\.(readFile|execPath|cwd\(\))/, file);
        }
      },
    );
    const { page } = profile;
    await page.goto(server.url.href);
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    for (const worker of ["sdk", "app"] as const) {
      await t.step(`an edit on WASM in Chromium, with the ${worker}'s worker`, async () => {
        const outcome = await editOnPage(page, MANIFEST, {
          options,
          appWorker: worker === "app",
        });
        assert.equal(outcome.device, "wasm");
        assert.equal(outcome.imageType, "image/png");
        assert.ok(outcome.imageBytes > 0);
        assert.equal(outcome.width, 48);
        assert.equal(outcome.seed, 5);
      });
    }
  } finally {
    await profile.close();
    await server.close();
    await Deno.remove(outDir, { recursive: true });
  }
}

Deno.test({
  name: "a Vite production build of an app that imports the SDK edits in Chromium on WASM",
  ignore: skipReason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: (t) => buildAndEdit(t, "build:vite", {}, {}),
});

Deno.test({
  name: "an esbuild build of the same app (worker entry, wasm copied) edits in Chromium on WASM",
  ignore: skipReason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: (t) => buildAndEdit(t, "build:esbuild", {}, {}),
});
