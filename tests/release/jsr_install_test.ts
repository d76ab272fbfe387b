/// <reference lib="dom" />
/**
 * The package as a JSR user gets it: `deno publish` uploads it to a JSR registry on loopback
 * (tests/release/jsr_registry.ts), and an app of its own, in a folder of its own, imports
 * `jsr:@editmgt/editmgt` from there (by `JSR_URL`), mounts the server under `/editmgt` as the
 * README shows, and runs with `deno run -A --unstable-kv`. With no SDK folder, `/editmgt/sdk/`
 * is built on demand from the installed package (read over http, as from jsr.io over https),
 * and a page of the app edits on WASM in Chromium with that SDK. With no demo folder,
 * `/editmgt/` is the package's own demo page, read from the registry, and it edits too.
 */
import assert from "node:assert/strict";
import { startRegistry } from "./jsr_registry.ts";
import { Demo, editOnPage, MODEL_DIR, openProfile, skipReason } from "../browser/harness.ts";

const ROOT = new URL("../../", import.meta.url);
const CONFIG = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
const MODEL = decodeURIComponent(new URL(MODEL_DIR, ROOT).pathname);
const MODEL_ID = JSON.parse(await Deno.readTextFile(`${MODEL}/manifest.json`)).id;
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The user's app: the README's "Under a path of your own app", plus a page that edits. */
const APP = `
import { Hono } from "hono";
import { createApp } from "@editmgt/editmgt/server";

const editmgt = createApp({ models: [${JSON.stringify(MODEL)}], basePath: "/editmgt" });
const page = \`<!doctype html><body><script type="module">
  import * as editmgt from "/editmgt/sdk/mod.js";
  globalThis.editmgt = editmgt;
  document.body.dataset.ready = "true";
</script>\`;
const app = new Hono();
app.get("/", (c) => c.html(page));
app.mount("/editmgt", editmgt.fetch);
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(\`port \${port}\`) }, app.fetch);
`;

/** The user's app, running. */
interface App {
  origin: string;
  /** Stops the app; resolves with what it wrote. */
  close(): Promise<{ stdout: string; stderr: string }>;
}

/** Starts the app in `folder` with `env`; resolves once it listens. */
async function startApp(folder: string, env: Record<string, string>): Promise<App> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "main.ts"],
    cwd: folder,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  // stdout carries the port, then the server's JSON log lines: all kept.
  let stdout = "";
  const listening = Promise.withResolvers<string>();
  const read = (async () => {
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      stdout += text;
      const port = stdout.match(/port (\d+)/)?.[1];
      if (port) listening.resolve(`http://127.0.0.1:${port}`);
    }
    listening.reject(new Error(`the app ended before it listened:\n${stdout}${await stderr}`));
  })();
  const origin = await listening.promise;
  return {
    origin,
    async close() {
      child.kill();
      await child.status;
      await read;
      return { stdout, stderr: await stderr };
    },
  };
}

/** GETs `url` until the on-demand build is done (it answers 503 busy meanwhile). */
async function getWhenBuilt(url: string, limitMs = 300_000): Promise<Response> {
  const started = Date.now();
  for (;;) {
    const response = await fetch(url);
    if (response.status !== 503 || Date.now() - started > limitMs) return response;
    const body = await response.json();
    assert.equal(body.error?.code, "busy", JSON.stringify(body));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

Deno.test("a JSR install serves its demo page and an SDK it builds from the installed package; both edit in Chromium", async (t) => {
  const registry = startRegistry();
  const folder = await Deno.makeTempDir({ prefix: "editmgt-jsr-app-" });
  const env = { JSR_URL: registry.url, DISABLE_JSR_PROVENANCE: "1" };
  const running: App[] = [];
  try {
    await t.step("deno publish uploads the package", async () => {
      const published = await new Deno.Command(Deno.execPath(), {
        args: ["publish", "--token", "loopback", "--allow-dirty"],
        cwd: decodeURIComponent(ROOT.pathname),
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(published.success, decode(published.stderr));
      const files = registry.published.get(`${CONFIG.name}@${CONFIG.version}`)?.files;
      assert.ok(files?.has("/sdk/build.ts"), "sdk/build.ts is published");
      assert.ok(!files?.has("/tests/release/jsr_install_test.ts"), "tests are not");
    });

    await Deno.writeTextFile(`${folder}/main.ts`, APP);
    await Deno.writeTextFile(
      `${folder}/deno.json`,
      JSON.stringify({
        imports: {
          "@editmgt/editmgt": `jsr:${CONFIG.name}@${CONFIG.version}`,
          hono: CONFIG.imports.hono,
        },
      }),
    );
    const app = await startApp(folder, env);
    running.push(app);
    const { origin } = app;

    await t.step("/editmgt/sdk/ is built on demand, with the WebAssembly it loads", async () => {
      const mod = await getWhenBuilt(`${origin}/editmgt/sdk/mod.js`);
      assert.equal(mod.status, 200, await mod.clone().text());
      assert.match(mod.headers.get("content-type") ?? "", /javascript/);
      await mod.body?.cancel();
      // Every chunk the two entries reach (static and dynamic imports), and the .wasm they load.
      const chunks = ["mod.js", "worker.js"];
      const wasm = new Set<string>();
      for (let i = 0; i < chunks.length; i++) {
        const response = await fetch(`${origin}/editmgt/sdk/${chunks[i]}`);
        assert.equal(response.status, 200, chunks[i]);
        const code = await response.text();
        for (const [, name] of code.matchAll(/["']\.\/([\w.-]+\.js)["']/g)) {
          if (!chunks.includes(name)) chunks.push(name);
        }
        for (const [, name] of code.matchAll(/["']([\w.-]+\.wasm)["']/g)) wasm.add(name);
      }
      assert.ok([...wasm].some((name) => name.startsWith("ort-wasm")), [...wasm].join());
      for (const name of wasm) {
        const response = await fetch(`${origin}/editmgt/sdk/${name}`);
        assert.equal(response.status, 200, name);
        assert.equal(response.headers.get("content-type"), "application/wasm", name);
        await response.body?.cancel();
      }
    });

    await t.step({
      name: "a page of the app edits on WASM in Chromium with that SDK",
      ignore: skipReason !== null,
      fn: async () => {
        const profile = await openProfile();
        try {
          const { page } = profile;
          await page.goto(`${origin}/`);
          await page.waitForFunction(() => document.body.dataset.ready === "true");
          const outcome = await editOnPage(page, `/editmgt/models/${MODEL_ID}/manifest.json`);
          assert.equal(outcome.device, "wasm");
          assert.equal(outcome.imageType, "image/png");
          assert.equal(outcome.width, 48);
          assert.equal(outcome.seed, 5);
        } finally {
          await profile.close();
        }
      },
    });
    await t.step("/editmgt/ is the package's demo page, and it edits in Chromium", async (t) => {
      const index = await fetch(`${origin}/editmgt/`);
      assert.equal(index.status, 200);
      assert.equal(
        await index.text(),
        await Deno.readTextFile(new URL("examples/web/index.html", ROOT)),
      );
      await t.step({
        name: "an edit on the demo page (WASM)",
        ignore: skipReason !== null,
        fn: async () => {
          const profile = await openProfile();
          try {
            const demo = new Demo(profile.page, {
              url: new URL(`${origin}/editmgt/`),
              manifest: `/editmgt/models/${MODEL_ID}/manifest.json`,
              hasEditApi: true,
              close: () => Promise.resolve(),
            });
            await demo.open("wasm");
            await demo.pickSample(0);
            await demo.set("steps", "4");
            await demo.edit();
          } finally {
            await profile.close();
          }
        },
      });
    });
  } finally {
    const outputs = await Promise.all(running.map((app) => app.close()));
    await registry.close();
    await Deno.remove(folder, { recursive: true });
    for (const output of outputs) {
      // One build, logged, and no failure.
      const log = output.stdout.split("\n").filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line).msg);
      assert.deepEqual(log.filter((msg) => /^(building the SDK|SDK built)$/.test(msg)), [
        "building the SDK",
        "SDK built",
      ], output.stdout + output.stderr);
    }
  }
});
