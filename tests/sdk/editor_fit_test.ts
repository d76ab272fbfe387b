/**
 * `createEditor` checks the chosen weights against the device before the first model byte is
 * downloaded: weights that do not fit are refused (only the manifest was fetched), or smaller
 * ones are taken when the choice was left to `"auto"`.
 */
import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { createEditor } from "../../sdk/editor.ts";
import { buildVariantPackage, FAKE_INT8_FOLDER } from "../_shared/variant_package.ts";
import { serveFiles } from "./file_server.ts";

const sanitizers = { sanitizeOps: false, sanitizeResources: false } as const;
const MODEL = "/models/variants/";
const GiB = 1024 ** 3;

/** The variant package with its fp32 and fp16 transformer declared to peak at 5 GiB. */
async function oversizedPackage() {
  const pkg = await buildVariantPackage();
  const path = `${pkg.folder}/manifest.json`;
  const manifest = JSON.parse(await Deno.readTextFile(path));
  const transformer = manifest.components.find((c: { kind: string }) => c.kind === "transformer");
  transformer.peakBytes = 5 * GiB;
  for (const variant of transformer.variants) {
    variant.peakBytes = variant.dtype === "int8" ? GiB : 5 * GiB;
  }
  await Deno.writeTextFile(path, JSON.stringify(manifest));
  return pkg;
}

Deno.test({
  name: "createEditor refuses weights over the WASM heap before downloading a model file",
  ...sanitizers,
  async fn() {
    await using pkg = await oversizedPackage();
    const server = serveFiles({ [MODEL]: pkg.folder });
    const cacheName = `editmgt-test-${crypto.randomUUID()}`;
    try {
      await assert.rejects(
        createEditor({
          manifest: new URL(MODEL, server.url),
          device: "wasm",
          cache: cacheName,
          dtype: "fp32",
        }),
        (error) =>
          isEditMGTError(error, "backend_unavailable") &&
          /the transformer \(fp32\) needs 5\.0 GiB in one WASM heap; WASM can address 4\.0 GiB; use .*dtype int8/
            .test(error.message),
      );
      const fetched = server.requests.map((request) => request.path.slice(MODEL.length));
      assert.deepEqual([...new Set(fetched)], ["manifest.json"]);
    } finally {
      await caches.delete(cacheName);
      await server.close();
    }
  },
});

Deno.test({
  name: "createEditor takes the smaller weights that fit when dtype is auto, and says so",
  ...sanitizers,
  async fn() {
    await using pkg = await oversizedPackage();
    const server = serveFiles({ [MODEL]: pkg.folder });
    const cacheName = `editmgt-test-${crypto.randomUUID()}`;
    try {
      const editor = await createEditor({
        manifest: new URL(MODEL, server.url),
        device: "wasm",
        cache: cacheName,
      });
      try {
        assert.equal(editor.dtypes.transformer, "int8");
        assert.match(editor.reason, /needs 5\.0 GiB in one WASM heap.*using transformer int8/);
        const fetched = server.requests.map((request) => request.path.slice(MODEL.length));
        assert.ok(fetched.some((path) => path.startsWith(FAKE_INT8_FOLDER)));
        assert.ok(!fetched.includes("transformer.onnx"), "the fp32 transformer was not fetched");
        const result = await editor.edit({
          image: { width: 12, height: 8, data: new Uint8ClampedArray(384).fill(200) },
          instruction: "make it blue",
          options: { seed: 1, steps: 2, fit: "pad" },
        });
        assert.equal(result.seed, 1);
      } finally {
        await editor.dispose();
      }
    } finally {
      await caches.delete(cacheName);
      await server.close();
    }
  },
});
