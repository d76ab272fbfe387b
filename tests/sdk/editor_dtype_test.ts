/**
 * `createEditor({ dtype })` in Deno (Cache Storage and WASM are there): only the chosen weights
 * are downloaded, the progress total counts only them, and the editor says what it chose.
 */
import assert from "node:assert/strict";
import type { EditorProgress } from "../../sdk/result.ts";
import { modelCache } from "../../sdk/cache.ts";
import { deleteFile, openStore } from "../../sdk/store.ts";
import { createEditor } from "../../sdk/editor.ts";
import { buildVariantPackage, FAKE_INT8_FOLDER } from "../_shared/variant_package.ts";
const sanitizers = { sanitizeOps: false, sanitizeResources: false } as const;
import { serveFiles } from "./file_server.ts";

const MODEL = "/models/variants/";

Deno.test({
  name: "createEditor downloads only the files of the dtype asked for and reports it",
  ...sanitizers,
  async fn() {
    await using pkg = await buildVariantPackage();
    const server = serveFiles({ [MODEL]: pkg.folder });
    const cacheName = `editmgt-test-${crypto.randomUUID()}`;
    const events: EditorProgress[] = [];
    try {
      const editor = await createEditor({
        manifest: new URL(MODEL, server.url),
        device: "wasm",
        cache: cacheName,
        dtype: { transformer: "int8" },
        onProgress: (event) => events.push(event),
      });
      await editor.dispose();
      const requested = server.requests.filter((request) => request.status < 400)
        .map((request) => request.path.slice(MODEL.length));
      const transformerFiles = requested.filter((path) => path.includes("transformer"));
      assert.deepEqual(transformerFiles, [
        `${FAKE_INT8_FOLDER}/transformer.onnx`,
        `${FAKE_INT8_FOLDER}/transformer.onnx.data`,
      ]);
      const sizes = await Promise.all(
        requested.filter((path) => path !== "manifest.json").map((path) =>
          Deno.stat(`${pkg.folder}/${path}`)
        ),
      );
      const chosenBytes = sizes.reduce((sum, stat) => sum + stat.size, 0);
      const downloads = events.filter((event) => event.type === "download");
      assert.ok(downloads.length > 0 && downloads.every((event) => event.total === chosenBytes));
      assert.equal(downloads.at(-1)!.loaded, chosenBytes);
      assert.equal(editor.dtypes.transformer, "int8");
      assert.equal(editor.dtypes.vq_decoder, "fp32");
      assert.match(editor.reason, /transformer int8/);
      assert.deepEqual(events.at(-1), { type: "ready", device: "wasm", dtypes: editor.dtypes });
      // Stored: the tokenizer and one file set per graph (the int8 transformer) make it whole.
      assert.ok(await modelCache(cacheName).has(new URL(MODEL, server.url)));
      const store = (await openStore(cacheName, "cache"))!;
      const manifest = JSON.parse(await Deno.readTextFile(`${pkg.folder}/manifest.json`));
      const int8 = manifest.components.find((c: { name: string }) => c.name === "transformer")
        .variants.find((variant: { dtype: string }) => variant.dtype === "int8");
      await deleteFile(store, int8.files[0].sha256);
      assert.equal(await modelCache(cacheName).has(new URL(MODEL, server.url)), false);
    } finally {
      await caches.delete(cacheName);
      await server.close();
    }
  },
});
