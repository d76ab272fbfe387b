/**
 * The server mounted under a path of the user's own Hono app (`basePath`): every URL it returns
 * (job urls and `Location`, the manifests of `/v1/models` and the files they list, the OpenAI
 * `url`, the placeholder page's links) is followed through the parent app and answers, with CORS
 * for a cross-origin page where the route is public or an edit route. A forged `Host` never
 * comes back.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { mount } from "hono/mount";
import { createApp, type EditServer } from "../../src/server/mod.ts";
import { editForm, FIXTURE_MODEL, readEvents, sourcePng } from "./helpers.ts";

const BASE = "/editmgt";
const PAGE = "https://app.example";
const FORGED = "evil.example";
const png = await sourcePng();

/** The two ways a Hono app mounts a handler: `mount` of hono/mount, and `app.mount`. */
function parents(server: EditServer): Record<string, Hono> {
  const parent = () => new Hono().get("/", (c) => c.text("the parent's own page"));
  return {
    "hono/mount": parent().all(`${BASE}/*`, mount(server.fetch)),
    "app.mount": parent().mount(BASE, server.fetch),
  };
}

/** A request through `parent` as a client of `http://evil.example` would send it. */
function through(parent: Hono, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("host", FORGED);
  return Promise.resolve(parent.request(`http://${FORGED}${path}`, { ...init, headers }));
}

/** The `Access-Control-Allow-Origin` of a preflight of `path` from {@linkcode PAGE}. */
async function preflightOrigin(parent: Hono, path: string, method: string): Promise<string | null> {
  const response = await through(parent, path, {
    method: "OPTIONS",
    headers: { origin: PAGE, "access-control-request-method": method },
  });
  await response.body?.cancel();
  assert.equal(response.status, 204, `preflight of ${path}`);
  return response.headers.get("access-control-allow-origin");
}

/** Asserts that `url` is a path under the mount, and that no answer carries the forged host. */
function assertUnderMount(url: string | null | undefined, what: string): string {
  assert.ok(url?.startsWith(`${BASE}/`), `${what}: ${url}`);
  return url!;
}

Deno.test("mounted under /editmgt of a parent Hono app, every URL the server returns answers through the parent", async () => {
  const sdk = await Deno.makeTempDir({ prefix: "editmgt-mount-sdk-" });
  await Deno.writeTextFile(`${sdk}/mod.js`, "export const sdk = true;\n");
  const server = createApp({
    models: [FIXTURE_MODEL],
    basePath: BASE,
    logger: () => {},
    static: { web: `${sdk}/no-demo`, sdk },
  });
  try {
    await server.ready;
    for (const [name, parent] of Object.entries(parents(server))) {
      const seen: string[] = [];
      const read = async (response: Response) => {
        const text = await response.text();
        seen.push(text, JSON.stringify([...response.headers]));
        return text;
      };
      const follow = async (url: string, init: RequestInit = {}) => {
        const response = await through(parent, url, init);
        assert.ok(response.status < 300, `${name}: ${url} answered ${response.status}`);
        return response;
      };

      const submitted = await through(parent, `${BASE}/v1/edits`, {
        method: "POST",
        body: editForm(png, { options: JSON.stringify({ steps: 2, seed: 1 }) }),
      });
      assert.equal(submitted.status, 202, name);
      const job = JSON.parse(await read(submitted));
      assert.equal(submitted.headers.get("location"), `${BASE}/v1/edits/${job.id}`);
      for (const [key, url] of Object.entries(job.urls)) {
        assertUnderMount(url as string, `${name}: job url ${key}`);
      }
      const events = await readEvents(await follow(job.urls.events));
      const completed = events.at(-1)!;
      assert.equal(completed.event, "completed", name);
      assertUnderMount((completed.data.urls as { result: string }).result, "completed event");
      assert.equal(JSON.parse(await read(await follow(job.urls.self))).status, "completed");
      assert.equal(
        (await follow(submitted.headers.get("location")!)).headers.get("content-type"),
        "application/json",
      );
      const result = await follow(job.urls.result);
      assert.equal(result.headers.get("content-type"), "image/png");
      await result.body?.cancel();
      const cancel = await follow(job.urls.cancel, { method: "POST" });
      assert.equal(cancel.status, 200, "cancelling a finished job answers it as it is");
      await read(cancel);
      for (const url of [job.urls.self, job.urls.result, job.urls.events]) {
        assert.equal(await preflightOrigin(parent, url, "GET"), "*", `${name}: CORS of ${url}`);
      }
      assert.equal(await preflightOrigin(parent, job.urls.cancel, "POST"), "*");

      const models = JSON.parse(await read(await follow(`${BASE}/v1/models`)));
      const manifestPath = assertUnderMount(models.data[0].manifest, `${name}: manifest`);
      const manifest = JSON.parse(await read(await follow(manifestPath)));
      const manifestUrl = new URL(manifestPath, `http://${FORGED}`);
      const file = new URL(manifest.components[0].files[0].path, manifestUrl).pathname;
      const bytes = await follow(file);
      assert.equal(
        Number(bytes.headers.get("content-length")),
        manifest.components[0].files[0].bytes,
      );
      await bytes.body?.cancel();
      for (const url of [`${BASE}/v1/models`, manifestPath, file]) {
        assert.equal(await preflightOrigin(parent, url, "GET"), "*", `${name}: CORS of ${url}`);
      }

      const form = new FormData();
      form.set("image", new File([png as Uint8Array<ArrayBuffer>], "in.png"));
      form.set("prompt", "make the red square blue");
      form.set("response_format", "url");
      form.set("options", JSON.stringify({ steps: 2 }));
      const openai = await follow(`${BASE}/v1/images/edits`, { method: "POST", body: form });
      const url = assertUnderMount(JSON.parse(await read(openai)).data[0].url, "OpenAI url");
      const image = await follow(url);
      assert.equal(image.headers.get("content-type"), "image/png");
      await image.body?.cancel();
      assert.equal(await preflightOrigin(parent, `${BASE}/v1/images/edits`, "POST"), "*");

      const page = await read(await follow(`${BASE}/`));
      const links = [...page.matchAll(/href="([^"]+)"/g)].map(([, href]) => href);
      assert.deepEqual(links, [`${BASE}/v1/models`, `${BASE}/openapi.json`, `${BASE}/sdk/mod.js`]);
      for (const link of links) {
        await read(await follow(link));
        assert.equal(await preflightOrigin(parent, link, "GET"), "*", `${name}: CORS of ${link}`);
      }

      assert.equal(await (await through(parent, "/")).text(), "the parent's own page");
      assert.ok(!seen.some((text) => text.includes(FORGED)), `${name}: the forged Host came back`);
    }
  } finally {
    await server.close();
    await Deno.remove(sdk, { recursive: true });
  }
});

Deno.test("with publicUrl and basePath, URLs are absolute under the public URL", async () => {
  const server = createApp({
    models: [FIXTURE_MODEL],
    worker: false,
    logger: () => {},
    basePath: BASE,
    publicUrl: `https://edits.example${BASE}/`,
  });
  try {
    const parent = parents(server)["hono/mount"];
    const submitted = await through(parent, `${BASE}/v1/edits`, {
      method: "POST",
      body: editForm(png),
    });
    const job = await submitted.json();
    assert.equal(
      submitted.headers.get("location"),
      `https://edits.example${BASE}/v1/edits/${job.id}`,
    );
    const models = await (await through(parent, `${BASE}/v1/models`)).json();
    assert.equal(
      models.data[0].manifest,
      `https://edits.example${BASE}/models/${models.data[0].id}/manifest.json`,
    );
  } finally {
    await server.close();
  }
});

Deno.test("basePath is checked: a leading slash, no trailing slash or query, the public URL's path", () => {
  const create = (options: { basePath: string; publicUrl?: string }) => () =>
    createApp({ models: [FIXTURE_MODEL], worker: false, ...options });
  for (const basePath of ["editmgt", "/editmgt/", "/", "/editmgt?x=1", "/editmgt#top", "//x"]) {
    assert.throws(create({ basePath }), /basePath must be a path such as "\/editmgt"/, basePath);
  }
  assert.throws(
    create({ basePath: BASE, publicUrl: "https://edits.example/other" }),
    /publicUrl https:\/\/edits.example\/other has the path "\/other" but basePath is "\/editmgt"/,
  );
  assert.throws(
    create({ basePath: BASE, publicUrl: "https://edits.example" }),
    /has the path "\/" but basePath/,
  );
});
