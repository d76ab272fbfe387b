/**
 * The SDK's download layer in Deno, over Cache Storage (the fallback store; the OPFS path runs in
 * Chromium, tests/browser/large_download_test.ts) against a misbehaving file server: progress
 * events, parts, Range resume, per-part and whole-file sha256, quota, the manifest copy.
 */
import assert from "node:assert/strict";
import { EditMGTError } from "../../src/errors/mod.ts";
import type { PackageFile } from "../../src/model/package.ts";
import { sha256Hex } from "../../src/model/verify.ts";
import { modelCache } from "../../sdk/cache.ts";
import { downloadModelFiles, type ModelDownloadEvent } from "../../sdk/download.ts";
import { openManifest } from "../../sdk/manifest.ts";
import { type EntryStore, openStore, readFile, readRecord } from "../../sdk/store.ts";
import { serveFiles } from "./file_server.ts";

const FIXTURE = new URL("../fixtures/tiny-random", import.meta.url).pathname;
const MODEL = "/models/tiny/";
const DATA_PATH = "transformer.onnx.data";
const TRANSFORMER_DATA = `${MODEL}${DATA_PATH}`;
/** Small parts, so the 558,720-byte data file has 9 of them. */
const PART = 64 * 1024;

/** A fresh store and file server per test. */
async function setUp() {
  const server = serveFiles({ [MODEL]: FIXTURE });
  const name = `editmgt-test-${crypto.randomUUID()}`;
  const store = (await openStore(name, "cache"))!;
  const model = await openManifest(new URL(MODEL, server.url), { store });
  const served = (path: string) =>
    server.requests.filter((request) => request.path === path && request.status < 400);
  const dataFile = model.files.find((file) => file.path === DATA_PATH)!;
  return {
    server,
    store,
    model,
    name,
    served,
    dataFile,
    location: new URL(MODEL, server.url),
    download: (files: readonly PackageFile[] = model.files, options = {}) =>
      downloadModelFiles(store, files, { partBytes: PART, ...options }),
    async [Symbol.asyncDispose]() {
      await store.clear();
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

/** `file` with per-part sha256 in its manifest entry, as the exporter writes them. */
async function withParts(file: PackageFile, partBytes: number): Promise<PackageFile> {
  const bytes = await Deno.readFile(`${FIXTURE}/${file.path}`);
  const sha256: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += partBytes) {
    sha256.push(await sha256Hex(bytes.subarray(offset, offset + partBytes)));
  }
  return { ...file, parts: { bytes: partBytes, sha256 } };
}

Deno.test("a cold download reports initiate, download and done per file, totals from the manifest", async () => {
  await using t = await setUp();
  const events: ModelDownloadEvent[] = [];
  const report = await t.download(t.model.files, {
    onProgress: (e: ModelDownloadEvent) => events.push(e),
  });
  assert.equal(report.neededBytes, t.model.totalBytes);
  assert.equal(report.fetchedBytes, t.model.totalBytes);
  const count = t.model.files.length;
  const kinds = events.map((event) => event.type);
  assert.equal(kinds.filter((kind) => kind === "initiate").length, count);
  assert.equal(kinds.filter((kind) => kind === "done").length, count);
  for (const file of t.model.files) {
    const own = events.filter((event) => event.file === file.path);
    assert.equal(own[0].type, "initiate");
    assert.equal(own.at(-1)!.type, "done");
  }
  const downloads = events.filter((event) => event.type === "download");
  assert.ok(downloads.every((event) => event.total === t.model.totalBytes));
  assert.ok(downloads.every((event) => event.fileCount === count));
  for (let i = 1; i < downloads.length; i++) {
    assert.ok(downloads[i].loaded >= downloads[i - 1].loaded);
  }
  const last = downloads.at(-1)!;
  assert.equal(last.loaded, t.model.totalBytes);
  assert.equal(last.fileLoaded, last.fileTotal);
  assert.deepEqual(events.at(-1), {
    type: "done",
    file: t.model.files.at(-1)!.path,
    component: t.model.files.at(-1)!.component,
    total: t.model.files.at(-1)!.bytes,
    filesDone: count,
    fileCount: count,
  });
  // The data file went in as 9 parts, its record complete.
  const record = (await readRecord(t.store, t.dataFile.sha256))!;
  assert.equal(record.parts.length, Math.ceil(t.dataFile.bytes / PART));
  assert.equal(record.complete, true);
});

Deno.test("a second download with every file stored makes no file request", async () => {
  await using t = await setUp();
  await t.download();
  const before = t.server.requests.length;
  let last: ModelDownloadEvent | undefined;
  const report = await t.download(t.model.files, {
    onProgress: (e: ModelDownloadEvent) => (last = e),
  });
  assert.equal(t.server.requests.length, before);
  assert.equal(report.neededBytes, 0);
  assert.equal(last?.type, "done");
  assert.ok(await modelCache(t.name, "cache").has(t.location));
});

Deno.test("a stored file whose part went missing is completed with a Range request for that part only", async () => {
  await using t = await setUp();
  await t.download();
  await t.store.remove(t.dataFile.sha256, ["part-3"]);
  assert.equal(await modelCache(t.name, "cache").has(t.location), false);
  await t.download();
  const again = t.served(TRANSFORMER_DATA).at(-1)!;
  assert.equal(again.range, `bytes=${3 * PART}-${4 * PART - 1}`);
  assert.equal(again.sent, PART);
  assert.ok(await modelCache(t.name, "cache").has(t.location));
});

Deno.test("an HTML answer or an HTTP error is refused and nothing is stored", async () => {
  await using t = await setUp();
  const tokenizer = t.model.files.find((file) => file.path === "tokenizer.json")!;
  t.server.faults.set(`${MODEL}tokenizer.json`, { kind: "html" });
  const html = await rejectsWith(t.download([tokenizer]), "download_failed");
  assert.match(html.message, /HTML/);
  t.server.faults.set(`${MODEL}tokenizer.json`, { kind: "status", status: 503 });
  await rejectsWith(t.download([tokenizer]), "download_failed");
  t.server.faults.set(`${MODEL}tokenizer.json`, { kind: "status", status: 404 });
  await rejectsWith(t.download([tokenizer]), "not_found");
  assert.equal(await readRecord(t.store, tokenizer.sha256), undefined);
});

Deno.test("a file that keeps its wrong bytes fails with hash_mismatch after one fresh try", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "flip-byte", at: 100 });
  const error = await rejectsWith(t.download([t.dataFile]), "hash_mismatch");
  assert.equal(error.details?.url, new URL(TRANSFORMER_DATA, t.server.url).href);
  assert.equal(t.served(TRANSFORMER_DATA).length, 2);
  assert.equal(await readFile(t.store, t.dataFile), undefined);
});

Deno.test("without part hashes, a corrupted file is detected at the end and fetched once more", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "flip-byte-once", at: 300_000 });
  await t.download([t.dataFile]);
  assert.deepEqual(t.served(TRANSFORMER_DATA).map((request) => request.range), [null, null]);
  assert.ok(await readFile(t.store, t.dataFile));
});

Deno.test("with part hashes, a corrupted part is fetched again alone and nothing verified twice", async () => {
  await using t = await setUp();
  const file = await withParts(t.dataFile, PART);
  t.server.faults.set(TRANSFORMER_DATA, { kind: "flip-byte-once", at: 5 * PART + 17 });
  const report = await t.download([file]);
  const requests = t.served(TRANSFORMER_DATA);
  assert.deepEqual(requests.map((request) => request.range), [
    null,
    `bytes=${5 * PART}-${6 * PART - 1}`,
  ]);
  assert.equal(report.fetchedBytes, file.bytes + PART);
  assert.equal(requests.reduce((sum, request) => sum + request.sent, 0), file.bytes + PART);
  const blob = (await readFile(t.store, file))!;
  assert.equal(await sha256Hex(new Uint8Array(await blob.arrayBuffer())), file.sha256);
});

Deno.test("a part that fails its hash twice fails the download with hash_mismatch", async () => {
  await using t = await setUp();
  const file = await withParts(t.dataFile, PART);
  t.server.faults.set(TRANSFORMER_DATA, { kind: "flip-byte", at: 2 * PART });
  const error = await rejectsWith(t.download([file]), "hash_mismatch");
  assert.match(error.message, /part 2/);
});

Deno.test("a download that breaks off resumes with Range from the last stored part", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "break-after", bytes: 200_000 });
  await rejectsWith(t.download([t.dataFile]), "download_failed");
  t.server.faults.delete(TRANSFORMER_DATA);
  const events: ModelDownloadEvent[] = [];
  const report = await t.download([t.dataFile], {
    onProgress: (e: ModelDownloadEvent) => events.push(e),
  });
  const stored = Math.floor(200_000 / PART) * PART;
  const resumed = t.served(TRANSFORMER_DATA).at(-1)!;
  assert.equal(resumed.status, 206);
  assert.equal(resumed.range, `bytes=${stored}-`);
  assert.equal(report.neededBytes, t.dataFile.bytes - stored);
  assert.deepEqual(events[0], {
    type: "initiate",
    file: DATA_PATH,
    component: t.dataFile.component,
    url: t.dataFile.url.href,
    total: t.dataFile.bytes,
    stored,
  });
  assert.ok(await readFile(t.store, t.dataFile));
});

Deno.test("a body that ends before its size is a broken download and resumes", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "end-after", bytes: 250_000 });
  await rejectsWith(t.download([t.dataFile]), "download_failed");
  t.server.faults.delete(TRANSFORMER_DATA);
  await t.download([t.dataFile]);
  assert.equal(t.served(TRANSFORMER_DATA).at(-1)!.range, `bytes=${3 * PART}-`);
  assert.ok(await readFile(t.store, t.dataFile));
});

Deno.test("the whole-file hash state survives: a resume reads no stored part back", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "break-after", bytes: 400_000 });
  await rejectsWith(t.download([t.dataFile]), "download_failed");
  t.server.faults.delete(TRANSFORMER_DATA);
  const partReads: string[] = [];
  const counting: EntryStore = {
    ...t.store,
    kind: t.store.kind,
    name: t.store.name,
    get: async (folder, entry) => {
      const blob = await t.store.get(folder, entry);
      if (entry.startsWith("part-") && blob !== undefined) partReads.push(entry);
      return blob;
    },
  };
  await downloadModelFiles(counting, [t.dataFile], { partBytes: PART });
  // Each stored part is looked up once (its size checked); none is read again for the hash.
  const storedParts = Math.floor(400_000 / PART);
  assert.deepEqual(partReads, [...Array(storedParts).keys()].map((index) => `part-${index}`));
  const blob = (await readFile(t.store, t.dataFile))!;
  assert.equal(await sha256Hex(new Uint8Array(await blob.arrayBuffer())), t.dataFile.sha256);
});

Deno.test("an aborted download rejects with aborted and resumes where it stopped", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "stall-after", bytes: 300_000 });
  const controller = new AbortController();
  const download = t.download([t.dataFile], {
    signal: controller.signal,
    onProgress: (event: ModelDownloadEvent) => {
      if (event.type === "download" && event.fileLoaded === 300_000) controller.abort();
    },
  });
  await rejectsWith(download, "aborted");
  t.server.faults.delete(TRANSFORMER_DATA);
  await t.download([t.dataFile]);
  assert.equal(t.served(TRANSFORMER_DATA).at(-1)!.range, `bytes=${4 * PART}-`);
});

Deno.test("a server that ignores Range sends the whole file; stored parts are skipped, not stored twice", async () => {
  await using t = await setUp();
  t.server.faults.set(TRANSFORMER_DATA, { kind: "break-after", bytes: 100_000 });
  await rejectsWith(t.download([t.dataFile]), "download_failed");
  t.server.faults.set(TRANSFORMER_DATA, { kind: "ignore-range" });
  await t.download([t.dataFile]);
  const last = t.served(TRANSFORMER_DATA).at(-1)!;
  assert.equal(last.status, 200);
  assert.equal(last.range, `bytes=${PART}-`);
  assert.ok(await readFile(t.store, t.dataFile));
});

/**
 * Breaks a download of the data file off after 3 parts, served from a copy of the package whose
 * data file differs (another version at the same path), by a server with or without ETags.
 */
async function breakOffOnAnotherVersion(t: Awaited<ReturnType<typeof setUp>>, etags: boolean) {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-other-version-" });
  const bytes = await Deno.readFile(`${FIXTURE}/${DATA_PATH}`);
  bytes[PART + 5] ^= 0xff;
  await Deno.writeFile(`${folder}/${DATA_PATH}`, bytes);
  const other = serveFiles({ [MODEL]: folder }, { etags });
  other.faults.set(TRANSFORMER_DATA, { kind: "break-after", bytes: 3 * PART });
  const url = new URL(TRANSFORMER_DATA, other.url);
  try {
    await rejectsWith(t.download([{ ...t.dataFile, url }]), "download_failed");
  } finally {
    await other.close();
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("parts of another version of the file (another ETag) are dropped and the file fetched whole", async () => {
  await using t = await setUp();
  await breakOffOnAnotherVersion(t, true);
  const report = await t.download([t.dataFile]);
  const requests = t.served(TRANSFORMER_DATA);
  assert.deepEqual(requests.map(({ range, status }) => [range, status]), [
    [`bytes=${3 * PART}-`, 206],
    [null, 200],
  ]);
  // The first answer was dropped at its headers: no byte of it was read.
  assert.equal(report.fetchedBytes, t.dataFile.bytes);
  assert.ok(await readFile(t.store, t.dataFile));
});

Deno.test("without ETags, parts of another version fail the whole-file hash and the file is fetched whole", async () => {
  await using t = await setUp();
  await breakOffOnAnotherVersion(t, false);
  await t.download([t.dataFile]);
  assert.deepEqual(t.served(TRANSFORMER_DATA).map((request) => request.range), [
    `bytes=${3 * PART}-`,
    null,
  ]);
  assert.ok(await readFile(t.store, t.dataFile));
});

Deno.test("cache.delete removes one model and cache.clear everything", async () => {
  await using t = await setUp();
  await t.download();
  const cache = modelCache(t.name, "cache");
  assert.equal(await cache.delete(t.location), true);
  assert.equal(await cache.has(t.location), false);
  assert.equal(await cache.delete(t.location), false);
  assert.equal(await readRecord(t.store, t.model.files[0].sha256), undefined);
  await openManifest(t.location, { store: t.store });
  await t.download();
  assert.equal(await cache.has(t.location), true);
  await cache.clear();
  assert.equal(await caches.has(t.name), false);
});

Deno.test("the manifest is read from the stored copy when the network is down", async () => {
  await using t = await setUp();
  await t.server.close();
  const offline = await openManifest(t.location, { store: t.store });
  assert.equal(offline.manifest.id, t.model.manifest.id);
  const empty = (await openStore(`${t.name}-empty`, "cache"))!;
  try {
    await rejectsWith(openManifest(t.location, { store: empty }), "download_failed");
  } finally {
    await empty.clear();
  }
});

Deno.test("an invalid manifest is refused and not stored", async () => {
  await using t = await setUp();
  await t.store.clear();
  const store = (await openStore(t.name, "cache"))!;
  t.server.faults.set(`${MODEL}manifest.json`, { kind: "html" });
  await rejectsWith(openManifest(t.location, { store }), "invalid_manifest");
  t.server.faults.delete(`${MODEL}manifest.json`);
  await t.server.close();
  await rejectsWith(openManifest(t.location, { store }), "download_failed");
});

Deno.test("too little quota fails before the first byte, saying what is needed and available", async () => {
  await using t = await setUp();
  const asked: string[] = [];
  Object.defineProperty(navigator, "storage", {
    configurable: true,
    value: {
      persist: () => (asked.push("persist"), Promise.resolve(true)),
      estimate:
        () => (asked.push("estimate"), Promise.resolve({ quota: 1_000_000, usage: 900_000 })),
    },
  });
  try {
    const before = t.server.requests.length;
    const error = await rejectsWith(t.download(), "download_failed");
    assert.equal(t.server.requests.length, before);
    assert.deepEqual(asked, ["persist", "estimate"]);
    assert.equal(error.details?.reason, "quota_exceeded");
    assert.equal(error.details?.neededBytes, t.model.totalBytes);
    assert.equal(error.details?.availableBytes, 100_000);
    assert.match(
      error.message,
      /needs 1\.\d MiB more storage but this site may use only 97\.7 KiB/,
    );
  } finally {
    Reflect.deleteProperty(navigator, "storage");
  }
});

Deno.test("a store that fills up mid-download fails with download_failed and reason quota_exceeded", async () => {
  await using t = await setUp();
  const open = caches.open.bind(caches);
  caches.open = async (name) =>
    new Proxy(await open(name), {
      get(target, property) {
        if (property === "put") {
          return () => Promise.reject(new DOMException("quota", "QuotaExceededError"));
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  let full: EntryStore;
  try {
    full = (await openStore(t.name, "cache"))!;
  } finally {
    caches.open = open;
  }
  const error = await rejectsWith(
    downloadModelFiles(full, [t.dataFile], { partBytes: PART }),
    "download_failed",
  );
  assert.equal(error.details?.reason, "quota_exceeded");
  assert.match(error.message, /cache: false/);
});
