import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { loadModelComponents } from "../../src/model/components.ts";
import { createBackend, openLocalModelPackage } from "../../src/model/deno.ts";
import { type ModelLoadEvent, openModelPackage } from "../../src/model/package.ts";
import { fetchSource } from "../../src/model/source.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";
import { copyModelBasic, editManifest, MODEL_BASIC, spyBackend } from "./fixture.ts";
import { buildVariantPackage, FAKE_INT8_FOLDER } from "../_shared/variant_package.ts";

const sanitizers = { sanitizeOps: false, sanitizeResources: false };
const node = await createBackend("node");
const modelBasicPath = decodeURIComponent(MODEL_BASIC.pathname);

async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[offset] ^= 0x01;
  await Deno.writeFile(path, bytes);
}

Deno.test("every file's size is known from the manifest before anything else is read", async () => {
  const reads: string[] = [];
  const model = await openModelPackage(MODEL_BASIC, {
    source: (request) => {
      reads.push(request.url.href);
      return fetchSource(request);
    },
  });
  assert.deepEqual(reads, [new URL("manifest.json", MODEL_BASIC).href]);
  let onDisk = 0;
  for (const file of model.files) {
    const size = (await Deno.stat(file.url)).size;
    assert.equal(file.bytes, size, file.path);
    assert.equal(file.url.href, new URL(file.path, MODEL_BASIC).href);
    onDisk += size;
  }
  assert.equal(model.totalBytes, onDisk);
  assert.equal(model.files.length, 6);
});

Deno.test("download events count up to the package total across components", async () => {
  const events: ModelLoadEvent[] = [];
  const model = await openLocalModelPackage(modelBasicPath, {
    onProgress: (event) => events.push(event),
  });
  for (const component of model.manifest.components) {
    const files = await model.readComponent(component.name);
    assert.deepEqual(files.map((file) => file.path), component.files.map((file) => file.path));
  }
  assert.ok(events.every((event) => event.packageTotal === model.totalBytes));
  assert.equal(events.at(-1)!.packageLoaded, model.totalBytes);
  for (const file of model.files) {
    const last = events.findLast((event) => event.file === file.path)!;
    assert.equal(last.loaded, file.bytes);
    assert.equal(last.total, file.bytes);
  }
  const packageLoaded = events.map((event) => event.packageLoaded);
  assert.deepEqual(packageLoaded, [...packageLoaded].sort((a, b) => a - b));
});

Deno.test({
  name: "a flipped byte is a hash_mismatch, found before any session is made from the file",
  ...sanitizers,
  async fn() {
    const folder = await copyModelBasic();
    try {
      await flipByte(`${folder}/text_encoder.onnx`, 100);
      const backend = spyBackend(node);
      await assert.rejects(
        loadModelComponents(await openLocalModelPackage(folder), backend),
        (error) =>
          isEditMGTError(error, "hash_mismatch") &&
          String(error.details?.url).endsWith("/text_encoder.onnx"),
      );
      assert.equal(backend.created, 0);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
});

Deno.test({
  name: "a corrupt external-data file fails the load and releases the sessions already made",
  ...sanitizers,
  async fn() {
    const folder = await copyModelBasic();
    try {
      await flipByte(`${folder}/transformer.onnx.data`, 0);
      const backend = spyBackend(node);
      await assert.rejects(
        loadModelComponents(await openLocalModelPackage(folder), backend),
        (error) => isEditMGTError(error, "hash_mismatch"),
      );
      assert.equal(backend.created, 3); // text encoder, VQ encoder, VQ decoder
      assert.equal(backend.released, 3);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
});

Deno.test("a truncated file is refused for its size before hashing", async () => {
  const folder = await copyModelBasic();
  try {
    const path = `${folder}/vq_decoder.onnx`;
    await Deno.writeFile(path, (await Deno.readFile(path)).subarray(0, 10));
    const model = await openLocalModelPackage(folder);
    await assert.rejects(
      model.readComponent("vq_decoder"),
      (error) => isEditMGTError(error, "hash_mismatch") && error.details?.actualBytes === 10,
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("a missing file is a not_found error naming the file", async () => {
  const folder = await copyModelBasic();
  try {
    await Deno.remove(`${folder}/vq_decoder.onnx`);
    const model = await openLocalModelPackage(folder);
    await assert.rejects(
      model.readComponent("vq_decoder"),
      (error) => isEditMGTError(error, "not_found") && /vq_decoder\.onnx/.test(error.message),
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("a missing manifest is a not_found error", async () => {
  const folder = await Deno.makeTempDir();
  try {
    await assert.rejects(
      openLocalModelPackage(folder),
      (error) => isEditMGTError(error, "not_found") && /manifest\.json/.test(error.message),
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("a package with a newer manifest format is refused with unsupported_format", async () => {
  const folder = await copyModelBasic();
  try {
    await editManifest(folder, (manifest) => manifest.format = "editmgt-manifest/2");
    await assert.rejects(
      openLocalModelPackage(folder),
      (error) => isEditMGTError(error, "unsupported_format"),
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("a manifest that is not JSON is refused with invalid_manifest", async () => {
  const folder = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${folder}/manifest.json`, "{ not json");
    await assert.rejects(
      openLocalModelPackage(folder),
      (error) => isEditMGTError(error, "invalid_manifest"),
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("variant files are listed with their dtype; filesFor and totalBytes count one file set per graph", async () => {
  await using pkg = await buildVariantPackage();
  const model = await openLocalModelPackage(pkg.folder);
  const transformerFiles = model.files.filter((file) => file.component === "transformer");
  assert.deepEqual(
    transformerFiles.map((file) => [file.path, file.dtype, file.variant]),
    [
      ["transformer.onnx", "fp32", false],
      ["transformer.onnx.data", "fp32", false],
      ["fp16/transformer.onnx", "fp16", true],
      [`${FAKE_INT8_FOLDER}/transformer.onnx`, "int8", true],
      [`${FAKE_INT8_FOLDER}/transformer.onnx.data`, "int8", true],
    ],
  );
  assert.equal(model.files.find((file) => file.component === "tokenizer")?.dtype, undefined);
  const bytes = (files: { bytes: number }[]) => files.reduce((sum, file) => sum + file.bytes, 0);
  const base = model.filesFor();
  assert.ok(base.every((file) => !file.variant));
  assert.equal(model.totalBytes, bytes(base));
  const fp16 = model.filesFor({ transformer: "fp16" });
  assert.deepEqual(
    fp16.filter((file) => file.component === "transformer").map((file) => file.path),
    ["fp16/transformer.onnx"],
  );
  assert.equal(fp16.length, base.length - 1);
  assert.throws(
    () => model.filesFor({ transformer: "q4" }),
    (error) =>
      isEditMGTError(error, "invalid_option") && /offers fp32, fp16, int8/.test(error.message),
  );
});

Deno.test("readComponent with a dtype reads and verifies that variant's files only", async () => {
  await using pkg = await buildVariantPackage();
  const events: ModelLoadEvent[] = [];
  const model = await openLocalModelPackage(pkg.folder, { onProgress: (e) => events.push(e) });
  const files = await model.readComponent("transformer", "int8");
  assert.deepEqual(files.map((file) => file.path), [
    `${FAKE_INT8_FOLDER}/transformer.onnx`,
    `${FAKE_INT8_FOLDER}/transformer.onnx.data`,
  ]);
  assert.deepEqual([...new Set(events.map((event) => event.file))], files.map((file) => file.path));
  assert.deepEqual(
    (await model.readComponent("transformer", "fp32")).map((file) => file.path),
    ["transformer.onnx", "transformer.onnx.data"],
  );
  await flipByte(`${pkg.folder}/fp16/transformer.onnx`, 50);
  await assert.rejects(
    model.readComponent("transformer", "fp16"),
    (error) => isEditMGTError(error, "hash_mismatch"),
  );
  await assert.rejects(
    model.readComponent("transformer", "q4"),
    (error) => isEditMGTError(error, "invalid_option"),
  );
});

Deno.test("asking for a component the model does not have is invalid_option", async () => {
  const model = await openLocalModelPackage(modelBasicPath);
  await assert.rejects(
    model.readComponent("vae"),
    (error) => isEditMGTError(error, "invalid_option") && /transformer/.test(error.message),
  );
});

/** Serves model-basic over HTTP; `override` may answer a path itself. */
function serveModelBasic(override?: (path: string) => Response | undefined) {
  const controller = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname.replace(/^\/models\/basic\//, "");
      const answer = override?.(path);
      if (answer) return answer;
      try {
        return new Response(await Deno.readFile(new URL(path, MODEL_BASIC)));
      } catch {
        return new Response("no such file", { status: 404 });
      }
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/models/basic/`,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await server.finished;
    },
  };
}

Deno.test({
  name: "a package is loaded from an http URL and its graphs run",
  ...sanitizers,
  async fn() {
    await using server = serveModelBasic();
    const events: ModelLoadEvent[] = [];
    const model = await openModelPackage(server.url, { onProgress: (event) => events.push(event) });
    assert.equal(model.manifestUrl.href, `${server.url}manifest.json`);
    await using components = await loadModelComponents(model, node);
    const pixels = await components.vqDecode(new Int32Array(16).fill(8));
    assert.equal(pixels.length, 3 * 16 * 16);
    assert.equal(events.at(-1)!.packageLoaded, model.totalBytes - model.files[0].bytes); // no tokenizer
  },
});

Deno.test("HTTP 404 is not_found and HTTP 500 is download_failed", async () => {
  await using server = serveModelBasic((path) =>
    path === "vq_encoder.onnx"
      ? new Response("gone", { status: 404 })
      : path === "vq_decoder.onnx"
      ? new Response("boom", { status: 500 })
      : undefined
  );
  const model = await openModelPackage(server.url);
  await assert.rejects(model.readComponent("vq_encoder"), (e) => isEditMGTError(e, "not_found"));
  await assert.rejects(
    model.readComponent("vq_decoder"),
    (error) => isEditMGTError(error, "download_failed") && error.details?.status === 500,
  );
});

Deno.test("a body larger than the manifest says is cut off while it streams", async () => {
  const chunk = new Uint8Array(64 * 1024);
  const bodyBytes = 64 * 1024 * 1024;
  let sent = 0;
  await using server = serveModelBasic((path) =>
    path === "transformer.onnx.data"
      ? new Response(
        new ReadableStream({
          pull(controller) {
            sent += chunk.length;
            controller.enqueue(chunk);
            if (sent >= bodyBytes) controller.close();
          },
        }),
      )
      : undefined
  );
  const model = await openModelPackage(server.url);
  await assert.rejects(
    model.readComponent("transformer"),
    (error) => isEditMGTError(error, "hash_mismatch"),
  );
  assert.ok(sent < bodyBytes, `the whole ${bodyBytes}-byte body was streamed`);
});

Deno.test("an aborted signal cancels reading with an aborted error", async () => {
  await using server = serveModelBasic();
  const controller = new AbortController();
  const model = await openModelPackage(server.url, { signal: controller.signal });
  controller.abort();
  await assert.rejects(model.readComponent("transformer"), (e) => isEditMGTError(e, "aborted"));
});

Deno.test("a relative path opens with fetch against the working directory (no base, no Deno source)", async () => {
  const folder = new URL("../fixtures/tiny-random/", import.meta.url);
  const relative = relativeToCwd(folder);
  const model = await openModelPackage(relative);
  assert.equal(model.manifestUrl.href, new URL("manifest.json", folder).href);
});

Deno.test(
  "EditPipeline.load takes a folder path relative to the working directory, as a user types it (issue #17)",
  sanitizers,
  async () => {
    const folder = new URL("../fixtures/tiny-random/", import.meta.url);
    const pipeline = await EditPipeline.load(`${relativeToCwd(folder)}/`);
    try {
      assert.equal(pipeline.manifest.id, "editmgt-tiny-random");
    } finally {
      await pipeline.dispose();
    }
  },
);

function relativeToCwd(folder: URL): string {
  const cwd = `${Deno.cwd()}/`;
  const path = decodeURIComponent(folder.pathname);
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}
