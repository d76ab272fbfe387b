/**
 * The package's own demo page at `/` when no `static.web` folder is given: from disk for a
 * package on disk, and over http for one read from a registry (each file fetched once, ETags,
 * 404 for a file it lacks, the placeholder page when the registry cannot be read). The JSR
 * install itself is tested end to end in tests/release/jsr_install_test.ts.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import type { ServerEnv } from "../../src/server/context.ts";
import { handleError } from "../../src/server/errors.ts";
import type { LogRecord } from "../../src/server/logging/index.ts";
import { staticRoutes } from "../../src/server/static/index.ts";
import { PACKAGE_DEMO, PackageDemo } from "../../src/server/static/package_demo.ts";
import { SdkBuild } from "../../src/server/static/sdk.ts";
import { serveFiles } from "../sdk/file_server.ts";
import { routesApp } from "./helpers.ts";

const DEMO_FOLDER = decodeURIComponent(PACKAGE_DEMO.pathname).replace(/\/$/, "");
const INDEX = await Deno.readTextFile(`${DEMO_FOLDER}/index.html`);

/** The static routes over `demo` (no demo folder), with the server's error handler. */
function demoApp(demo: PackageDemo) {
  const logs: LogRecord[] = [];
  const log = (record: LogRecord) => logs.push(record);
  const sdkBuild = new SdkBuild({ missing: "none", log, build: () => Promise.reject("unused") });
  const app = new Hono<ServerEnv>();
  app.onError(handleError(log));
  app.route(
    "/",
    staticRoutes({ folders: { web: null, sdk: "/nonexistent" }, base: "", sdkBuild, demo, log }),
  );
  return { app, logs };
}

Deno.test("without static.web, / is the demo page inside the package", async () => {
  const { app } = await routesApp({});
  try {
    const index = await app.request("/");
    assert.equal(index.status, 200);
    assert.equal(await index.text(), INDEX);
    assert.equal(index.headers.get("cross-origin-embedder-policy"), "require-corp");
    const script = await app.request("/app.js");
    assert.match(script.headers.get("content-type")!, /^application\/javascript/);
    assert.equal(await script.text(), await Deno.readTextFile(`${DEMO_FOLDER}/app.js`));
    const samples = await app.request("/samples/samples.json");
    assert.equal(samples.headers.get("content-type"), "application/json");
    assert.ok(Array.isArray(await samples.json()));
  } finally {
    await app.close();
  }
});

Deno.test("a demo read over http: each file fetched once, ETags, 404 for a file it lacks", async () => {
  const registry = serveFiles({ "/pkg/examples/web/": DEMO_FOLDER });
  const fetched: string[] = [];
  const demo = new PackageDemo(new URL("pkg/examples/web/", registry.url), (input, init) => {
    fetched.push(new URL(String(input)).pathname);
    return fetch(input, init);
  });
  const { app } = demoApp(demo);
  try {
    const first = await app.request("/");
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("content-type"), "text/html; charset=utf-8");
    const etag = first.headers.get("etag")!;
    assert.equal(await first.text(), INDEX);
    const again = await app.request("/index.html", { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    const style = await app.request("/style.css");
    assert.equal(style.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(await style.text(), await Deno.readTextFile(`${DEMO_FOLDER}/style.css`));
    await (await app.request("/style.css")).body?.cancel();
    // The URL parser resolves dot segments: "/../deno.json" asks for examples/web/deno.json,
    // which the demo lacks; a hidden name is refused without a fetch.
    for (const path of ["/nope.js", "/../deno.json", "/.hidden"]) {
      const missing = await app.request(path);
      assert.equal(missing.status, 404, path);
      await missing.body?.cancel();
    }
    assert.deepEqual(fetched, [
      "/pkg/examples/web/index.html",
      "/pkg/examples/web/style.css",
      "/pkg/examples/web/nope.js",
      "/pkg/examples/web/deno.json",
    ]);
  } finally {
    await registry.close();
  }
});

Deno.test("a registry that cannot be read: / answers the placeholder and logs why, other files 503", async () => {
  const demo = new PackageDemo(
    new URL("https://registry.invalid/pkg/examples/web/"),
    () => Promise.reject(new TypeError("dns error")),
  );
  const { app, logs } = demoApp(demo);
  const home = await app.request("/");
  assert.equal(home.status, 200);
  assert.match(await home.text(), /EditMGT server/);
  assert.ok(
    logs.some((record) =>
      record.msg === "the package's demo page could not be read" &&
      /registry\.invalid.*dns error/.test(String(record.error))
    ),
    JSON.stringify(logs),
  );
  const script = await app.request("/app.js");
  assert.equal(script.status, 503);
  assert.equal((await script.json()).error.code, "backend_unavailable");
});
