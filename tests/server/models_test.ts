import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createApp, type EditServer, ModelListSchema } from "../../src/server/mod.ts";
import type { Manifest } from "../../src/schema/mod.ts";
import { FIXTURE_ID, FIXTURE_MODEL } from "./helpers.ts";

const manifestText = await Deno.readTextFile(`${FIXTURE_MODEL}/manifest.json`);
const manifest: Manifest = JSON.parse(manifestText);
const tokenizer = manifest.components.find((c) => c.name === "tokenizer")!.files[0];
const tokenizerBytes = await Deno.readFile(`${FIXTURE_MODEL}/${tokenizer.path}`);
const base = `/models/${FIXTURE_ID}`;

/** An app that only serves models (no engine, no job worker): fast to start. */
async function modelApp(models: string[] = [FIXTURE_MODEL]): Promise<EditServer> {
  const app = createApp({ models, worker: false, logger: () => {} });
  await app.ready.catch(() => {});
  return app;
}

/** A copy of the fixture in a temp folder, changed by `edit` (files and manifest). */
async function fixtureCopy(
  edit: (folder: string, manifest: Manifest) => Promise<void>,
): Promise<string> {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-model-" });
  for await (const entry of Deno.readDir(FIXTURE_MODEL)) {
    await Deno.copyFile(`${FIXTURE_MODEL}/${entry.name}`, `${folder}/${entry.name}`);
  }
  const copy = structuredClone(manifest);
  await edit(folder, copy);
  await Deno.writeTextFile(`${folder}/manifest.json`, JSON.stringify(copy, null, 2));
  return folder;
}

Deno.test("GET /v1/models lists the served models with their manifest paths", async () => {
  const app = await modelApp();
  try {
    const response = await app.request("/v1/models");
    assert.equal(response.status, 200);
    const list = ModelListSchema.parse(await response.json());
    assert.deepEqual(list.data.map((model) => [model.id, model.manifest]), [
      [FIXTURE_ID, `${base}/manifest.json`],
    ]);
    assert.deepEqual(list.data[0].resolution, manifest.resolution);
  } finally {
    await app.close();
  }
});

Deno.test("manifests: the file's bytes, a strong ETag, 304 on If-None-Match, short cache", async () => {
  const app = await modelApp();
  try {
    for (const path of [`/v1/models/${FIXTURE_ID}`, `${base}/manifest.json`]) {
      const response = await app.request(path);
      assert.equal(response.status, 200, path);
      assert.equal(await response.text(), manifestText);
      const etag = response.headers.get("etag")!;
      const sha = createHash("sha256").update(manifestText).digest("hex");
      assert.equal(etag, `"${sha}"`);
      assert.equal(response.headers.get("cache-control"), "public, max-age=60");
      const again = await app.request(path, { headers: { "if-none-match": etag } });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), "");
      const other = await app.request(path, { headers: { "if-none-match": '"other"' } });
      assert.equal(other.status, 200);
      await other.body?.cancel();
    }
  } finally {
    await app.close();
  }
});

Deno.test("model files: full body, sha256 ETag, revalidate caching, CORS and CORP", async () => {
  const app = await modelApp();
  try {
    const response = await app.request(`${base}/${tokenizer.path}`, {
      headers: { origin: "https://example.com" },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), tokenizerBytes);
    assert.equal(response.headers.get("etag"), `"${tokenizer.sha256}"`);
    assert.equal(response.headers.get("content-length"), String(tokenizer.bytes));
    assert.equal(response.headers.get("accept-ranges"), "bytes");
    assert.equal(response.headers.get("cache-control"), "public, no-cache");
    assert.equal(response.headers.get("cross-origin-resource-policy"), "cross-origin");
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.match(response.headers.get("access-control-expose-headers")!, /Content-Range/);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    for (const file of manifest.components.flatMap((c) => c.files)) {
      const head = await app.request(`${base}/${file.path}`, { method: "HEAD" });
      assert.equal(head.status, 200, file.path);
      assert.equal(head.headers.get("content-length"), String(file.bytes));
      assert.equal(await head.text(), "");
    }
  } finally {
    await app.close();
  }
});

Deno.test("model files: single ranges give 206 with the exact bytes, bad ones 416", async () => {
  const app = await modelApp();
  const url = `${base}/${tokenizer.path}`;
  const size = tokenizerBytes.length;
  try {
    const cases: [string, number, number][] = [
      ["bytes=0-9", 0, 9],
      ["bytes=100-", 100, size - 1],
      ["bytes=-16", size - 16, size - 1],
      [`bytes=${size - 5}-${size + 100}`, size - 5, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const response = await app.request(url, { headers: { range } });
      assert.equal(response.status, 206, range);
      assert.equal(response.headers.get("content-range"), `bytes ${start}-${end}/${size}`);
      assert.equal(response.headers.get("content-length"), String(end - start + 1));
      assert.deepEqual(
        new Uint8Array(await response.arrayBuffer()),
        tokenizerBytes.slice(start, end + 1),
      );
    }
    for (const range of [`bytes=${size}-`, "bytes=9-3", "bytes=x-y", "bytes=-0"]) {
      const response = await app.request(url, { headers: { range } });
      assert.equal(response.status, 416, range);
      assert.equal(response.headers.get("content-range"), `bytes */${size}`);
      assert.equal((await response.json()).error.code, "invalid_input");
    }
    const stale = await app.request(url, { headers: { range: "bytes=0-9", "if-range": '"old"' } });
    assert.equal(stale.status, 200, "If-Range with another ETag gets the whole file");
    assert.equal((await stale.arrayBuffer()).byteLength, size);
    const fresh = await app.request(url, {
      headers: { range: "bytes=0-9", "if-range": `"${tokenizer.sha256}"` },
    });
    assert.equal(fresh.status, 206);
    await fresh.body?.cancel();
    const cached = await app.request(url, {
      headers: { "if-none-match": `W/"${tokenizer.sha256}"` },
    });
    assert.equal(cached.status, 304);
  } finally {
    await app.close();
  }
});

Deno.test("model files: only files the manifest lists, whatever the path says", async () => {
  const folder = await fixtureCopy(async (folder) => {
    await Deno.writeTextFile(`${folder}/secret.txt`, "not listed");
  });
  const app = await modelApp([folder]);
  try {
    for (
      const path of [
        `${base}/secret.txt`,
        `${base}/../tiny-random/secret.txt`,
        `${base}/%2e%2e/%2e%2e/deno.json`,
        `${base}/..%2f..%2fdeno.json`,
        `${base}/%2Fetc%2Fpasswd`,
        `${base}/tokenizer.json%00`,
        `${base}/TOKENIZER.JSON`,
      ]
    ) {
      const response = await app.request(path);
      assert.equal(response.status, 404, path);
      assert.match((await response.json()).error.code, /^(model_)?not_found$/, path);
    }
    const unknown = await app.request("/models/nope/tokenizer.json");
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, "model_not_found");
  } finally {
    await app.close();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("model files whose names embed their hash are cached as immutable", async () => {
  const hashed = `tokenizer.${tokenizer.sha256.slice(0, 12)}.json`;
  const folder = await fixtureCopy(async (folder, copy) => {
    await Deno.rename(`${folder}/${tokenizer.path}`, `${folder}/${hashed}`);
    copy.components.find((c) => c.name === "tokenizer")!.files[0].path = hashed;
  });
  const app = await modelApp([folder]);
  try {
    const response = await app.request(`${base}/${hashed}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), tokenizerBytes);
  } finally {
    await app.close();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("CORS preflight for ranged model downloads from another origin", async () => {
  const app = await modelApp();
  try {
    const response = await app.request(`${base}/${tokenizer.path}`, {
      method: "OPTIONS",
      headers: {
        origin: "https://example.com",
        "access-control-request-method": "GET",
        "access-control-request-headers": "range",
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.match(response.headers.get("access-control-allow-headers")!, /Range/);
  } finally {
    await app.close();
  }
});

Deno.test("a model file that differs from its manifest stops start-up: readyz 503", async () => {
  const folder = await fixtureCopy(async (folder) => {
    await Deno.writeTextFile(`${folder}/tokenizer.json`, " ".repeat(tokenizer.bytes));
  });
  const app = await modelApp([folder]);
  try {
    await assert.rejects(app.ready);
    const ready = await app.request("/readyz");
    assert.equal(ready.status, 503);
    assert.equal((await ready.json()).status, "failed");
    const models = await app.request("/v1/models");
    assert.equal(models.status, 503);
    const body = await models.json();
    assert.equal(body.error.code, "backend_unavailable");
    assert.match(body.error.message, /sha256/);
    const alive = await app.request("/healthz");
    assert.equal(alive.status, 200);
  } finally {
    await app.close();
    await Deno.remove(folder, { recursive: true });
  }
});
