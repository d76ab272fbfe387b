import assert from "node:assert/strict";
import { EditMGTError } from "../../src/errors/mod.ts";
import type { DownloadProgress } from "../../src/pipeline/types.ts";
import { downloadModelFiles } from "../../sdk/download.ts";
import { openManifest } from "../../sdk/manifest.ts";
import { modelCache } from "../../sdk/cache.ts";
import { serveFiles } from "./file_server.ts";

const FIXTURE = new URL("../fixtures/tiny-random", import.meta.url).pathname;
const MODEL = "/models/tiny/";
const TRANSFORMER_DATA = `${MODEL}transformer.onnx.data`;

/** A fresh cache and file server per test. */
async function setUp() {
  const server = serveFiles({ [MODEL]: FIXTURE });
  const name = `editmgt-test-${crypto.randomUUID()}`;
  const cache = await caches.open(name);
  const model = await openManifest(new URL(MODEL, server.url), { cache });
  const modelFiles = (path: string) =>
    server.requests.filter((request) => request.path === path && request.status < 400);
  return {
    server,
    cache,
    model,
    name,
    modelFiles,
    async [Symbol.asyncDispose]() {
      await caches.delete(name);
      await server.close();
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<EditMGTError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof EditMGTError, String(error));
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected an ${code} error`);
}

Deno.test("a cold download reports one byte progress over all files, from 0 to the manifest total", async () => {
  await using t = await setUp();
  const events: DownloadProgress[] = [];
  await downloadModelFiles(t.cache, t.model.files, { onProgress: (event) => events.push(event) });
  assert.ok(events.length >= t.model.files.length);
  assert.ok(events.every((event) => event.total === t.model.totalBytes));
  for (let i = 1; i < events.length; i++) assert.ok(events[i].loaded >= events[i - 1].loaded);
  assert.equal(events.at(-1)!.loaded, t.model.totalBytes);
  assert.equal(events.at(-1)!.file, t.model.files.at(-1)!.path);
});

Deno.test("a second download with every file stored makes no file request", async () => {
  await using t = await setUp();
  await downloadModelFiles(t.cache, t.model.files);
  const before = t.server.requests.length;
  let last: DownloadProgress | undefined;
  await downloadModelFiles(t.cache, t.model.files, { onProgress: (event) => (last = event) });
  assert.equal(t.server.requests.length, before);
  assert.equal(last?.loaded, t.model.totalBytes);
  assert.ok(await modelCache(t.name).has(new URL(MODEL, t.server.url)));
});

Deno.test("a stored file whose recorded hash differs from the manifest is downloaded again", async () => {
  await using t = await setUp();
  await downloadModelFiles(t.cache, t.model.files);
  const file = t.model.files.find((candidate) => candidate.path === "vq_decoder.onnx")!;
  await t.cache.put(
    file.url.href,
    new Response(new Uint8Array(file.bytes), {
      headers: { "content-length": String(file.bytes), "x-editmgt-sha256": "0".repeat(64) },
    }),
  );
  assert.equal(await modelCache(t.name).has(new URL(MODEL, t.server.url)), false);
  await downloadModelFiles(t.cache, t.model.files);
  assert.equal(t.modelFiles(`${MODEL}vq_decoder.onnx`).length, 2);
  assert.ok(await modelCache(t.name).has(new URL(MODEL, t.server.url)));
});

Deno.test("an HTML answer or an HTTP error is refused and nothing is stored", async () => {
  await using t = await setUp();
  t.server.faults.set(`${MODEL}tokenizer.json`, { kind: "html" });
  const html = await rejectsWith(downloadModelFiles(t.cache, t.model.files), "download_failed");
  assert.match(html.message, /HTML/);
  t.server.faults.set(`${MODEL}tokenizer.json`, { kind: "status", status: 503 });
  await rejectsWith(downloadModelFiles(t.cache, t.model.files), "download_failed");
  t.server.faults.set(`${MODEL}tokenizer.json`, { kind: "status", status: 404 });
  await rejectsWith(downloadModelFiles(t.cache, t.model.files), "not_found");
  assert.equal(
    await t.cache.match(new URL(`${MODEL}tokenizer.json`, t.server.url).href),
    undefined,
  );
});

Deno.test("a file with the wrong bytes fails with hash_mismatch and is not stored", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "flip-byte", at: 100 });
  const error = await rejectsWith(downloadModelFiles(t.cache, t.model.files), "hash_mismatch");
  assert.equal(error.details?.url, new URL(TRANSFORMER_DATA, t.server.url).href);
  assert.equal(await t.cache.match(new URL(TRANSFORMER_DATA, t.server.url).href), undefined);
});

Deno.test("a download that breaks off resumes with a Range request for the rest", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "break-after", bytes: 200_000 });
  await rejectsWith(downloadModelFiles(t.cache, t.model.files), "download_failed");
  t.server.faults.delete(TRANSFORMER_DATA);
  const events: DownloadProgress[] = [];
  await downloadModelFiles(t.cache, t.model.files, { onProgress: (event) => events.push(event) });
  const resumed = t.modelFiles(TRANSFORMER_DATA).at(-1)!;
  assert.equal(resumed.status, 206);
  assert.equal(resumed.range, "bytes=200000-");
  assert.equal(events.at(-1)!.loaded, t.model.totalBytes);
  assert.ok(await modelCache(t.name).has(new URL(MODEL, t.server.url)));
});

Deno.test("a body that ends before the manifest size is kept as a part and resumed", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "end-after", bytes: 250_000 });
  await rejectsWith(downloadModelFiles(t.cache, t.model.files), "download_failed");
  t.server.faults.delete(TRANSFORMER_DATA);
  await downloadModelFiles(t.cache, t.model.files);
  assert.equal(t.modelFiles(TRANSFORMER_DATA).at(-1)!.range, "bytes=250000-");
  assert.ok(await modelCache(t.name).has(new URL(MODEL, t.server.url)));
});

Deno.test("an aborted download rejects with aborted and resumes where it stopped", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "stall-after", bytes: 300_000 });
  const controller = new AbortController();
  const download = downloadModelFiles(t.cache, t.model.files, {
    signal: controller.signal,
    onProgress: (event) => {
      const dataFile = t.model.files.find((file) => file.path === "transformer.onnx.data")!;
      if (event.loaded - (t.model.totalBytes - dataFile.bytes) === 300_000) controller.abort();
    },
  });
  await rejectsWith(download, "aborted");
  t.server.faults.delete(TRANSFORMER_DATA);
  await downloadModelFiles(t.cache, t.model.files);
  assert.equal(t.modelFiles(TRANSFORMER_DATA).at(-1)!.range, "bytes=300000-");
});

Deno.test("parts stored every checkpoint survive a broken download", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "break-after", bytes: 400_000 });
  await rejectsWith(
    downloadModelFiles(t.cache, t.model.files, { checkpointBytes: 64 * 1024 }),
    "download_failed",
  );
  t.server.faults.delete(TRANSFORMER_DATA);
  await downloadModelFiles(t.cache, t.model.files);
  assert.equal(t.modelFiles(TRANSFORMER_DATA).at(-1)!.range, "bytes=400000-");
  assert.ok(await modelCache(t.name).has(new URL(MODEL, t.server.url)));
});

Deno.test("a server that ignores Range sends the whole file, which replaces the parts", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "break-after", bytes: 100_000 });
  await rejectsWith(downloadModelFiles(t.cache, t.model.files), "download_failed");
  t.server.faults.set(TRANSFORMER_DATA, { kind: "ignore-range" });
  await downloadModelFiles(t.cache, t.model.files);
  assert.equal(t.modelFiles(TRANSFORMER_DATA).at(-1)!.status, 200);
  assert.ok(await modelCache(t.name).has(new URL(MODEL, t.server.url)));
});

Deno.test("resumed parts from another version of the file are discarded and the file fetched whole", async () => {
  await using t = await setUp();
  const url = new URL(TRANSFORMER_DATA, t.server.url);
  await t.cache.put(
    `${url.href}?editmgt-part=0`,
    new Response(new Uint8Array(1000).fill(7), { headers: { "x-editmgt-offset": "0" } }),
  );
  await downloadModelFiles(t.cache, t.model.files);
  const fetched = t.modelFiles(TRANSFORMER_DATA);
  assert.deepEqual(fetched.map((request) => request.range), ["bytes=1000-", null]);
  assert.ok(await modelCache(t.name).has(new URL(MODEL, t.server.url)));
});

Deno.test("cache.delete removes one model and cache.clear everything", async () => {
  await using t = await setUp();
  await downloadModelFiles(t.cache, t.model.files);
  const cache = modelCache(t.name);
  const location = new URL(MODEL, t.server.url);
  assert.equal(await cache.delete(location), true);
  assert.equal(await cache.has(location), false);
  assert.equal(await cache.delete(location), false);
  assert.equal(await t.cache.match(t.model.files[0].url.href), undefined);
  await downloadModelFiles(t.cache, t.model.files);
  await cache.clear();
  assert.equal(await caches.has(t.name), false);
});

Deno.test("the manifest is read from the stored copy when the network is down", async () => {
  await using t = await setUp();
  await t.server.close();
  const offline = await openManifest(new URL(MODEL, t.server.url), { cache: t.cache });
  assert.equal(offline.manifest.id, t.model.manifest.id);
  const empty = await caches.open(`${t.name}-empty`);
  try {
    await rejectsWith(
      openManifest(new URL(MODEL, t.server.url), { cache: empty }),
      "download_failed",
    );
  } finally {
    await caches.delete(`${t.name}-empty`);
  }
});

Deno.test("an invalid manifest is refused and not stored", async () => {
  await using t = await setUp();
  const location = new URL(MODEL, t.server.url);
  await modelCache(t.name).clear();
  const cache = await caches.open(t.name);
  t.server.faults.set(`${MODEL}manifest.json`, { kind: "html" });
  await rejectsWith(openManifest(location, { cache }), "invalid_manifest");
  assert.equal(await cache.match(new URL(`${MODEL}manifest.json`, t.server.url).href), undefined);
});

Deno.test("a full store fails with download_failed and reason quota_exceeded", async () => {
  await using t = await setUp();
  const full = new Proxy(t.cache, {
    get(target, property) {
      if (property === "put") {
        return () => Promise.reject(new DOMException("quota", "QuotaExceededError"));
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const error = await rejectsWith(downloadModelFiles(full, t.model.files), "download_failed");
  assert.equal(error.details?.reason, "quota_exceeded");
  assert.match(error.message, /cache: false/);
});
