import assert from "node:assert/strict";
import { openManifest } from "../../sdk/manifest.ts";
import { downloadModelFiles } from "../../sdk/download.ts";
import { blobBytes, cachedSource } from "../../sdk/source.ts";
import { openStore } from "../../sdk/store.ts";
import { serveFiles } from "./file_server.ts";

const FIXTURE = new URL("../fixtures/tiny-random", import.meta.url).pathname;
const MODEL = "/models/tiny/";

Deno.test("cachedSource reads a stored file from its parts and the network only for what is not stored", async () => {
  const server = serveFiles({ [MODEL]: FIXTURE });
  const name = `editmgt-test-${crypto.randomUUID()}`;
  const store = (await openStore(name, "cache"))!;
  try {
    const model = await openManifest(new URL(MODEL, server.url), { store });
    const [stored, missing] = ["transformer.onnx.data", "vq_decoder.onnx"].map((path) =>
      model.files.find((file) => file.path === path)!
    );
    await downloadModelFiles(store, [stored], { partBytes: 64 * 1024 });
    const before = server.requests.length;
    const source = cachedSource(name, "cache");
    const progress: number[] = [];
    const bytes = await source({ ...stored, onProgress: (loaded) => progress.push(loaded) });
    assert.deepEqual(bytes, await Deno.readFile(`${FIXTURE}/${stored.path}`));
    assert.deepEqual(progress, [stored.bytes]);
    assert.equal(server.requests.length, before);
    const fetched = await source({
      url: missing.url,
      bytes: missing.bytes,
      sha256: missing.sha256,
    });
    assert.equal(fetched.byteLength, missing.bytes);
    assert.equal(server.requests.at(-1)!.path, `${MODEL}${missing.path}`);
  } finally {
    await store.clear();
    await server.close();
  }
});

Deno.test("blobBytes streams a blob of many parts into one buffer", async () => {
  const parts = [new Uint8Array([1, 2]), new Uint8Array(70_000).fill(3), new Uint8Array([4])];
  const bytes = await blobBytes(new Blob(parts));
  assert.equal(bytes.byteLength, 70_003);
  assert.deepEqual([bytes[0], bytes[1], bytes[2], bytes[70_001], bytes[70_002]], [1, 2, 3, 3, 4]);
});
