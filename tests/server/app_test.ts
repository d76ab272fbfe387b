/**
 * Cross-cutting behaviour of the app: API keys, the rate limit, request ids, structured logs,
 * secure headers, static folders and the OpenAPI document.
 */
import assert from "node:assert/strict";
import { createApp, type EditServer } from "../../src/server/mod.ts";
import { ROUTES } from "../../src/server/routes.ts";
import { openApiPath, type RouteSpec } from "../../src/server/route.ts";
import { editForm, FIXTURE_MODEL, routesApp, sourcePng } from "./helpers.ts";

const png = await sourcePng();

const submit = (app: EditServer, headers: Record<string, string> = {}) =>
  app.request("/v1/edits", { method: "POST", body: editForm(png), headers });

Deno.test("API keys: edit routes need a valid bearer key; models stay public", async () => {
  const { app, logs } = await routesApp({ apiKeys: ["secret-1", "secret-2"] });
  try {
    const missing = await submit(app);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="editmgt"');
    assert.equal((await missing.json()).error.code, "unauthorized");
    const wrong = await submit(app, { authorization: "Bearer secret-3" });
    assert.equal(wrong.status, 401);
    assert.match((await wrong.json()).error.message, /not valid/);
    for (const key of ["secret-1", "secret-2"]) {
      const ok = await submit(app, { authorization: `Bearer ${key}` });
      assert.equal(ok.status, 202, key);
      const job = await ok.json();
      const read = await app.request(job.urls.self);
      assert.equal(read.status, 401, "reading a job needs the key too");
      await read.body?.cancel();
    }
    const models = await app.request("/v1/models");
    assert.equal(models.status, 200);
    await models.body?.cancel();
    const clients = logs.filter((record) => record.msg === "request").map((r) => r.client);
    assert.ok(clients.some((client) => /^key:[0-9a-f]{12}$/.test(String(client))));
    assert.ok(!JSON.stringify(logs).includes("secret-1"), "keys never reach the logs");
  } finally {
    await app.close();
  }
});

/** The CORS answer of `app` to a preflight of `path` from `origin`. */
async function preflight(app: EditServer, path: string, origin: string) {
  const response = await app.request(path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization",
    },
  });
  await response.body?.cancel();
  return response.headers.get("access-control-allow-origin");
}

Deno.test("CORS: the edit routes follow the allowlist; no origin by default once keys are set", async () => {
  const page = "https://app.example";
  const open = await routesApp();
  try {
    assert.equal(await preflight(open.app, "/v1/edits", page), "*", "no keys: any page");
  } finally {
    await open.app.close();
  }
  const keyed = await routesApp({ apiKeys: ["secret"] });
  try {
    for (const path of ["/v1/edits", "/v1/images/edits", "/v1/edits/x/result"]) {
      assert.equal(await preflight(keyed.app, path, page), null, `keys: no page may call ${path}`);
    }
    assert.equal(await preflight(keyed.app, "/v1/models", page), "*", "models stay public");
  } finally {
    await keyed.app.close();
  }
  const listed = await routesApp({ apiKeys: ["secret"], corsOrigins: [page] });
  try {
    assert.equal(await preflight(listed.app, "/v1/edits", page), page);
    assert.equal(await preflight(listed.app, "/v1/edits", "https://evil.example"), null);
  } finally {
    await listed.app.close();
  }
  assert.throws(
    () => createApp({ models: [FIXTURE_MODEL], apiKeys: ["secret"], corsOrigins: "*" }),
    /any web page/,
  );
  assert.throws(
    () => createApp({ models: [FIXTURE_MODEL], corsOrigins: ["https://app.example/path"] }),
    /origins/,
  );
});

Deno.test("public URL: Location and job URLs are built from it, never from Host", async () => {
  const { app } = await routesApp({ publicUrl: "https://edits.example/api/" });
  try {
    const response = await app.request("http://evil.example:6666/v1/edits", {
      method: "POST",
      body: editForm(png),
      headers: { host: "evil.example:6666" },
    });
    assert.equal(response.status, 202);
    const job = await response.json();
    assert.equal(response.headers.get("location"), `https://edits.example/api/v1/edits/${job.id}`);
    assert.equal(job.urls.result, `https://edits.example/api/v1/edits/${job.id}/result`);
    assert.ok(!Number.isNaN(Date.parse(job.updatedAt)), "the time of the last change is shown");
  } finally {
    await app.close();
  }
});

Deno.test("rate limit: submissions past the bucket get 429 rate_limited with Retry-After", async () => {
  const { app } = await routesApp({ rateLimit: { requests: 2, windowMs: 60_000 } });
  try {
    for (let i = 0; i < 2; i++) {
      const response = await submit(app, { "x-forwarded-for": "203.0.113.9" });
      assert.equal(response.status, 202);
      await response.body?.cancel();
    }
    const limited = await submit(app);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "30");
    assert.equal((await limited.json()).error.code, "rate_limited");
    const reads = await app.request("/v1/models");
    assert.equal(reads.status, 200, "reads are not limited");
    await reads.body?.cancel();
  } finally {
    await app.close();
  }
  const proxied = await routesApp({
    rateLimit: { requests: 1, windowMs: 60_000 },
    trustProxy: true,
  });
  try {
    const statuses = [];
    for (const ip of ["198.51.100.1", "198.51.100.2", "198.51.100.1"]) {
      const response = await submit(proxied.app, { "x-forwarded-for": `${ip}, 10.0.0.1` });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [202, 202, 429], "behind a proxy each forwarded IP has a bucket");
  } finally {
    await proxied.app.close();
  }
});

Deno.test("request ids: echoed when valid, generated otherwise, and in every log record", async () => {
  const { app, logs } = await routesApp();
  try {
    const given = await app.request("/healthz", { headers: { "x-request-id": "abc-123" } });
    assert.equal(given.headers.get("x-request-id"), "abc-123");
    await given.body?.cancel();
    const invalid = await app.request("/healthz", { headers: { "x-request-id": "a b\u00e9" } });
    assert.match(invalid.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    await invalid.body?.cancel();
    const error = await app.request("/v1/edits/zzz");
    const id = error.headers.get("x-request-id");
    assert.ok(id);
    await error.body?.cancel();
    const record = logs.find((r) => r.msg === "request" && r.requestId === id)!;
    assert.equal(record.status, 404);
    assert.equal(record.code, "not_found");
    assert.equal(record.level, "warn");
    assert.equal(record.method, "GET");
    assert.equal(typeof record.ms, "number");
  } finally {
    await app.close();
  }
});

Deno.test("jsonLogger writes one JSON object per line with time, level and message", async () => {
  const { jsonLogger } = await import("../../src/server/mod.ts");
  const lines: string[] = [];
  jsonLogger((line) => lines.push(line))({
    level: "error",
    msg: "boom",
    error: new Error("bad"),
  });
  const record = JSON.parse(lines[0]);
  assert.equal(record.level, "error");
  assert.equal(record.msg, "boom");
  assert.deepEqual(record.error, { name: "Error", message: "bad" });
  assert.ok(!Number.isNaN(Date.parse(record.time)));
});

Deno.test("secure headers on every answer; isolation headers on pages", async () => {
  const { app } = await routesApp();
  try {
    const api = await app.request("/v1/models");
    await api.body?.cancel();
    for (
      const [name, value] of [
        ["x-content-type-options", "nosniff"],
        ["x-frame-options", "SAMEORIGIN"],
        ["referrer-policy", "no-referrer"],
        ["cross-origin-resource-policy", "cross-origin"],
      ]
    ) {
      assert.equal(api.headers.get(name), value, name);
    }
    const page = await app.request("/");
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    await page.body?.cancel();
  } finally {
    await app.close();
  }
});

Deno.test("static folders: demo and SDK files, placeholder when the demo is missing", async () => {
  const root = await Deno.makeTempDir({ prefix: "editmgt-static-" });
  await Deno.mkdir(`${root}/web/samples`, { recursive: true });
  await Deno.mkdir(`${root}/sdk`);
  await Deno.writeTextFile(`${root}/web/index.html`, "<h1>demo</h1>");
  await Deno.writeTextFile(`${root}/web/samples/a.png`, "png bytes");
  await Deno.writeTextFile(`${root}/sdk/mod.js`, "export const x = 1;");
  await Deno.writeFile(`${root}/sdk/ort.wasm`, new Uint8Array([0, 97, 115, 109]));
  await Deno.writeTextFile(`${root}/secret.txt`, "outside");
  await Deno.symlink(`${root}/secret.txt`, `${root}/web/link.txt`);
  const { app } = await routesApp({ static: { web: `${root}/web`, sdk: `${root}/sdk` } });
  const missing = await routesApp({ static: { web: `${root}/none`, sdk: `${root}/none` } });
  try {
    const index = await app.request("/");
    assert.equal(await index.text(), "<h1>demo</h1>");
    const sample = await app.request("/samples/a.png");
    assert.equal(sample.headers.get("content-type"), "image/png");
    assert.equal(await sample.text(), "png bytes");
    const script = await app.request("/sdk/mod.js");
    assert.match(script.headers.get("content-type")!, /^application\/javascript/);
    assert.equal(script.headers.get("cross-origin-embedder-policy"), "require-corp");
    const etag = script.headers.get("etag")!;
    assert.equal(await script.text(), "export const x = 1;");
    const cached = await app.request("/sdk/mod.js", { headers: { "if-none-match": etag } });
    assert.equal(cached.status, 304);
    const wasm = await app.request("/sdk/ort.wasm");
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    await wasm.body?.cancel();
    for (const path of ["/link.txt", "/../secret.txt", "/sdk/../secret.txt", "/nope.js"]) {
      const response = await app.request(path);
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
    const placeholder = await missing.app.request("/");
    assert.equal(placeholder.status, 200);
    assert.match(await placeholder.text(), /EditMGT server/);
  } finally {
    await app.close();
    await missing.app.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing SDK folder: the SDK is built from the package once, on the first requests, and removed at close", async () => {
  const root = await Deno.makeTempDir({ prefix: "editmgt-no-sdk-" });
  const { app, logs } = await routesApp({ static: { sdk: `${root}/sdk` } });
  let outdir = "";
  try {
    const [page, worker] = await Promise.all([
      app.request("/sdk/mod.js"),
      app.request("/sdk/worker.js"),
    ]);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^application\/javascript/);
    assert.match(await page.text(), /as createEditor/);
    assert.equal(worker.status, 200);
    await worker.body?.cancel();
    assert.equal(logs.filter((record) => record.msg === "building the SDK").length, 1);
    outdir = String(logs.find((record) => record.msg === "SDK built")?.outdir);
    assert.ok((await Deno.stat(`${outdir}/mod.js`)).isFile);
  } finally {
    await app.close();
  }
  await assert.rejects(Deno.stat(outdir), Deno.errors.NotFound, "the built folder is removed");
  assert.deepEqual(await Array.fromAsync(Deno.readDir(root)), [], "the configured folder stays");
  await Deno.remove(root);
});

Deno.test("GET /openapi.json: every route, schemas generated from the shared ones", async () => {
  const { app } = await routesApp();
  try {
    const document = await (await app.request("/openapi.json")).json();
    assert.equal(document.openapi, "3.1.0");
    const documented = ROUTES.filter((route) => route.doc !== undefined);
    assert.deepEqual(
      Object.keys(document.paths).sort(),
      [...new Set(documented.map((route) => openApiPath(route.path)))].sort(),
      "the document's paths are the route table's documented routes",
    );
    for (const route of documented) {
      const operation = document.paths[openApiPath(route.path)][route.method.toLowerCase()];
      assert.ok(operation, `${route.method} ${route.path}`);
      assert.equal(operation.security !== undefined, route.access === "edit", route.path);
    }
    const schemas = document.components.schemas;
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)];
    assert.ok(refs.length > 10);
    for (const [, name] of refs) assert.ok(schemas[name], `$ref ${name} resolves`);
    assert.deepEqual(
      [schemas.EditOptions.properties.steps.minimum, schemas.EditOptions.properties.steps.maximum],
      [1, 1000],
    );
    assert.equal(schemas.EditOptions.additionalProperties, false);
    assert.ok(schemas.EditOptions.properties.previewEvery);
    assert.deepEqual(schemas.EditJsonBody.required.sort(), ["image", "instruction"]);
    assert.equal(schemas.Manifest.properties.format.const, "editmgt-manifest/1");
    assert.ok(schemas.ErrorBody.properties.error.properties.code.enum.includes("queue_full"));
    assert.equal(schemas.EditMultipartBody.properties.image.format, "binary");
  } finally {
    await app.close();
  }
});

/** A concrete path of `route`'s pattern (parameters filled in). */
function examplePath(route: RouteSpec): string {
  return route.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "x").replace(/\*$/, "x");
}

Deno.test("route table: the app registers exactly its routes, with its access rules", async () => {
  const { app } = await routesApp({ apiKeys: ["secret"], corsOrigins: ["https://app.example"] });
  try {
    const registered = (app as unknown as { routes: { method: string; path: string }[] }).routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method} ${route.path}`);
    assert.deepEqual(
      [...new Set(registered)].sort(),
      ROUTES.map((route) => `${route.method} ${route.path}`).sort(),
      "every handler is registered from a descriptor of the table, and only those",
    );
    for (const route of ROUTES) {
      const path = examplePath(route);
      const label = `${route.method} ${route.path} (${route.access})`;
      const origin = await preflight(app, path, "https://app.example");
      const expected = { public: "*", edit: "https://app.example", "same-origin": null };
      assert.equal(origin, expected[route.access], `CORS of ${label}`);
      const response = await app.request(path, { method: route.method });
      await response.body?.cancel();
      assert.equal(response.status === 401, route.access === "edit", `API key of ${label}`);
    }
  } finally {
    await app.close();
  }
});
