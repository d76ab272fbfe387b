/**
 * `deno task start` rebuilds dist/sdk when the SDK's inputs (sdk/, src/, deno.json, deno.lock)
 * changed since it was built, and only then. Each test runs on a small repository in a
 * temporary folder, with a build that writes one file.
 */

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { buildSdkIfStale, sdkInputsDigest } from "../../examples/server/main.ts";

/** A repository with SDK inputs, a test file, and a build that counts its runs. */
async function sampleRepository() {
  const root = await Deno.makeTempDir({ prefix: "editmgt-sdk-stamp-" });
  const repository = pathToFileURL(`${root}/`);
  const write = async (path: string, text: string) => {
    const url = new URL(path, repository);
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, text);
  };
  await write("sdk/build.ts", "export async function buildSdk() {}\n");
  await write("sdk/mod.ts", 'export * from "../src/engine/mod.ts";\n');
  await write("src/engine/mod.ts", "export const version = 1;\n");
  await write("deno.json", "{}\n");
  await write("tests/engine_test.ts", "// not bundled\n");
  const builds: string[] = [];
  const options = {
    repository,
    build: async (outdir: URL) => {
      await Deno.mkdir(outdir, { recursive: true });
      const version = await Deno.readTextFile(new URL("src/engine/mod.ts", repository));
      await Deno.writeTextFile(new URL("mod.js", outdir), version);
      builds.push(version);
    },
  };
  return { root, repository, write, builds, options };
}

Deno.test("the SDK is built when dist/sdk is missing, then not again while nothing changed", async () => {
  const { root, builds, options } = await sampleRepository();
  try {
    assert.equal(await buildSdkIfStale(options), true);
    assert.equal(await buildSdkIfStale(options), false);
    assert.equal(await buildSdkIfStale(options), false);
    assert.equal(builds.length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an edited library source makes the bundle stale (after a git pull)", async () => {
  const { root, write, builds, options } = await sampleRepository();
  try {
    await buildSdkIfStale(options);
    await write("src/engine/mod.ts", "export const version = 2;\n");
    assert.equal(await buildSdkIfStale(options), true);
    assert.deepEqual(builds, ["export const version = 1;\n", "export const version = 2;\n"]);
    assert.equal(await buildSdkIfStale(options), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a new SDK file or a changed deno.json makes the bundle stale", async () => {
  const { root, write, builds, options } = await sampleRepository();
  try {
    await buildSdkIfStale(options);
    await write("sdk/editor.ts", "export const editor = {};\n");
    assert.equal(await buildSdkIfStale(options), true);
    await write("deno.json", '{ "imports": {} }\n');
    assert.equal(await buildSdkIfStale(options), true);
    assert.equal(builds.length, 3);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("files outside the SDK's inputs, and new mtimes on the same contents, change nothing", async () => {
  const { root, repository, write, builds, options } = await sampleRepository();
  try {
    await buildSdkIfStale(options);
    const before = await sdkInputsDigest(repository);
    await write("tests/engine_test.ts", "// still not bundled\n");
    const later = new Date(Date.now() + 60_000);
    await Deno.utime(new URL("sdk/mod.ts", repository), later, later);
    assert.equal(await sdkInputsDigest(repository), before);
    assert.equal(await buildSdkIfStale(options), false);
    assert.equal(builds.length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a bundle built without a stamp is rebuilt; a failed build is retried next start", async () => {
  const { root, repository, builds, options } = await sampleRepository();
  try {
    const outdir = new URL("dist/sdk/", repository);
    await Deno.mkdir(outdir, { recursive: true });
    await Deno.writeTextFile(new URL("mod.js", outdir), "built by hand");
    const failing = {
      ...options,
      build: () => Promise.reject(new Error("deno bundle failed")),
    };
    const errors: string[] = [];
    const consoleError = console.error;
    console.error = (message: string) => errors.push(message);
    try {
      assert.equal(await buildSdkIfStale(failing), false);
    } finally {
      console.error = consoleError;
    }
    assert.match(errors[0], /SDK build failed.*deno bundle failed/);
    assert.equal(await buildSdkIfStale(options), true);
    assert.equal(builds.length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
