/**
 * The bad-input corpus: every malformed request gets its 4xx JSON error over real HTTP, the
 * server never answers 500 and keeps serving edits afterwards.
 */
import assert from "node:assert/strict";
import { encodeImage } from "../../src/image/mod.ts";
import { ErrorBodySchema, JobViewSchema } from "../../src/server/mod.ts";
import {
  decompressionBombs,
  pngSignatureThenGarbage,
  pngWithGarbagePixels,
  truncatedHalf,
  unsupportedFormats,
  zeroByteFile,
} from "../_shared/bad_images.ts";
import {
  editForm,
  FIXTURE_ID,
  rawExchange,
  sourceImage,
  sourcePng,
  startServer,
} from "./helpers.ts";

/** Cancels the job of a 202 answer, so that it does not run on after the test. */
async function cancelAfter(url: string, job: { urls: { cancel: string } }): Promise<void> {
  await (await fetch(`${url}${job.urls.cancel}`, { method: "POST" })).body?.cancel();
}

const png = await sourcePng();
/** The body limit of the corpus' server: room for 10,000 field names, not for more. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const formOf = (fields: Record<string, string | Blob>) => {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return form;
};
const withOptions = (options: unknown, fields: Record<string, string> = {}) =>
  editForm(png, { options: JSON.stringify(options), ...fields });
const withImage = (image: Uint8Array) => editForm(image);
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const jsonEdit = (body: unknown) => ({
  body: typeof body === "string" ? body : JSON.stringify(body),
  headers: { "content-type": "application/json" },
});
const multipartText = (body: string, boundary = "XyZ") => ({
  body,
  headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
});

interface Case {
  name: string;
  method?: string;
  path?: string;
  init?: { body?: BodyInit; headers?: Record<string, string> };
  status: number;
  code: string;
  /** What the error message must say. */
  message?: RegExp;
  /** Longest the error message may be (client text is cut short in errors). */
  maxMessage?: number;
  /** The `Allow` header of a 405. */
  allow?: string;
}

const mask = await encodeImage({ ...sourceImage(), width: 40, height: 48 });
const openai = (fields: Record<string, string>, image: Uint8Array | null = png) => ({
  body: formOf(
    image ? { image: new File([image as Uint8Array<ArrayBuffer>], "in.png"), ...fields } : fields,
  ),
});

const CASES: Case[] = [
  // Content types and multipart framing.
  {
    name: "text/plain body",
    init: { body: "hello", headers: { "content-type": "text/plain" } },
    status: 415,
    code: "unsupported_format",
  },
  {
    name: "no content type",
    init: { body: new Uint8Array([1, 2, 3]) },
    status: 415,
    code: "unsupported_format",
  },
  {
    name: "multipart with a wrong boundary",
    init: multipartText(
      '--other\r\ncontent-disposition: form-data; name="a"\r\n\r\nb\r\n--other--\r\n',
    ),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "multipart without its closing boundary",
    init: multipartText(
      '--XyZ\r\ncontent-disposition: form-data; name="instruction"\r\n\r\nmake it blue\r\n',
    ),
    status: 400,
    code: "invalid_input",
    message: /malformed/,
  },
  {
    name: "truncated multipart",
    init: multipartText(
      '--XyZ\r\ncontent-disposition: form-data; name="instruction"\r\n\r\nmake it bl',
    ),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "multipart without image",
    init: { body: formOf({ instruction: "x" }) },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "image sent as text",
    init: { body: formOf({ image: "not a file", instruction: "x" }) },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "two images",
    init: {
      body: (() => {
        const f = editForm(png);
        f.append("image", new File([png as Uint8Array<ArrayBuffer>], "b.png"));
        return f;
      })(),
    },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "unknown multipart field",
    init: { body: editForm(png, { prompt: "x" }) },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "options not JSON",
    init: { body: editForm(png, { options: "{steps: 4" }) },
    status: 400,
    code: "invalid_input",
  },
  // Instructions.
  {
    name: "empty instruction",
    init: { body: editForm(png, { instruction: "" }) },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "whitespace instruction",
    init: { body: editForm(png, { instruction: "   \n\t" }) },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "huge instruction",
    init: { body: editForm(png, { instruction: "x".repeat(2001) }) },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "instruction of NUL characters",
    init: { body: editForm(png, { instruction: "\0\0\0" }) },
    status: 400,
    code: "invalid_input",
    message: /empty|visible/,
  },
  {
    name: "instruction of zero-width characters",
    init: { body: editForm(png, { instruction: "\u200b\u200c\u200d\ufeff" }) },
    status: 400,
    code: "invalid_input",
    message: /empty|visible/,
  },
  {
    name: "JSON instruction of NUL and zero-width characters",
    init: jsonEdit({ instruction: "\0\u200b", image: base64(png) }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "2,001 emoji (counted as typed)",
    init: { body: editForm(png, { instruction: "🔵".repeat(2001) }) },
    status: 400,
    code: "invalid_input",
    message: /2000/,
  },
  {
    name: "10,000 unknown multipart fields",
    init: {
      body: (() => {
        const form = editForm(png);
        for (let i = 0; i < 10_000; i++) form.set(`field${i}`, "x");
        return form;
      })(),
    },
    status: 400,
    code: "invalid_input",
    maxMessage: 1_000,
  },
  {
    name: "JSON with 10,000 unknown fields",
    init: jsonEdit({
      instruction: "x",
      image: base64(png),
      ...Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, 1])),
    }),
    status: 400,
    code: "invalid_input",
    maxMessage: 1_000,
  },
  {
    name: "JSON field name of 10,000 characters",
    init: jsonEdit({ instruction: "x", image: base64(png), ["k".repeat(10_000)]: 1 }),
    status: 400,
    code: "invalid_input",
    maxMessage: 1_000,
  },
  // Options: out of range and wrong types.
  {
    name: "steps 0",
    init: { body: withOptions({ steps: 0 }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "steps 1001",
    init: { body: withOptions({ steps: 1001 }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "steps as a string",
    init: { body: withOptions({ steps: "ten" }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "fractional steps",
    init: { body: withOptions({ steps: 2.5 }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "negative guidance",
    init: { body: withOptions({ guidance: -1 }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "gamma 0",
    init: { body: withOptions({ gamma: 0 }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "lambda 2",
    init: { body: withOptions({ lambda: 2 }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "lambda word",
    init: { body: withOptions({ lambda: "maybe" }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "negative seed",
    init: { body: withOptions({ seed: -1 }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "temperature of one value in a list",
    init: { body: withOptions({ temperature: [1] }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "unknown schedule",
    init: { body: withOptions({ schedule: "exp" }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "unknown option",
    init: { body: withOptions({ stepz: 4 }) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "options as an array",
    init: { body: withOptions([4]) },
    status: 400,
    code: "invalid_option",
  },
  {
    name: "negative previewEvery",
    init: { body: withOptions({ previewEvery: -1 }) },
    status: 400,
    code: "invalid_option",
  },
  // Images: truncated, corrupt, unsupported, bombs, mask size.
  {
    name: "truncated PNG",
    init: { body: withImage(truncatedHalf(png)) },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "PNG signature with garbage",
    init: { body: withImage(pngSignatureThenGarbage()) },
    status: 400,
    code: "invalid_input",
  },
  {
    // The header is sound, so it is queued; the pixels are decoded once, in the engine's
    // Worker, and the waiting client gets the job's error.
    name: "PNG whose pixel data is garbage (Prefer: wait)",
    init: { body: withImage(pngWithGarbagePixels(png)), headers: { prefer: "wait" } },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "empty image file",
    init: { body: withImage(zeroByteFile()) },
    status: 400,
    code: "invalid_input",
  },
  ...Object.entries(unsupportedFormats()).map(([format, bytes]) => ({
    name: `${format} image`,
    init: { body: withImage(bytes) },
    status: 415,
    code: "unsupported_format",
  })),
  {
    name: "random bytes as image",
    init: { body: withImage(crypto.getRandomValues(new Uint8Array(256))) },
    status: 415,
    code: "unsupported_format",
  },
  ...Object.entries(decompressionBombs()).map(([format, bytes]) => ({
    name: `${format} decompression bomb header`,
    init: { body: withImage(bytes) },
    status: 413,
    code: "payload_too_large",
  })),
  {
    name: "mask of another size",
    init: { body: editForm(png, {}, mask) },
    status: 400,
    code: "invalid_input",
  },
  {
    name: "body over the size limit",
    init: { body: editForm(new Uint8Array(MAX_BODY_BYTES + 10)) },
    status: 413,
    code: "payload_too_large",
  },
  // JSON bodies.
  {
    name: "JSON that does not parse",
    init: jsonEdit('{"instruction": '),
    status: 400,
    code: "invalid_input",
  },
  { name: "JSON array", init: jsonEdit([1, 2]), status: 400, code: "invalid_input" },
  {
    name: "JSON image not base64",
    init: jsonEdit({ instruction: "x", image: "%%%not base64%%%" }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "JSON image of the wrong type",
    init: jsonEdit({ instruction: "x", image: 42 }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "JSON without image",
    init: jsonEdit({ instruction: "x" }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "JSON unknown field",
    init: jsonEdit({ instruction: "x", image: base64(png), prompt: "y" }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "JSON instruction as a number",
    init: jsonEdit({ instruction: 5, image: base64(png) }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "unknown model id",
    init: jsonEdit({ instruction: "x", model: "nope", image: base64(png) }),
    status: 404,
    code: "model_not_found",
  },
  {
    name: "model id with a path",
    init: jsonEdit({ instruction: "x", model: "../etc", image: base64(png) }),
    status: 400,
    code: "invalid_input",
  },
  // Jobs, results, models and static paths.
  {
    name: "job id of the wrong form",
    method: "GET",
    path: "/v1/edits/not-an-id",
    status: 404,
    code: "not_found",
  },
  {
    name: "unknown job id",
    method: "GET",
    path: "/v1/edits/0000000000000000000000000",
    status: 404,
    code: "not_found",
  },
  {
    name: "cancel of an unknown job",
    path: "/v1/edits/0000000000000000000000000/cancel",
    status: 404,
    code: "not_found",
  },
  {
    name: "events of an unknown job",
    method: "GET",
    path: "/v1/edits/zzz/events",
    status: 404,
    code: "not_found",
  },
  {
    name: "unknown model manifest",
    method: "GET",
    path: "/v1/models/nope",
    status: 404,
    code: "model_not_found",
  },
  {
    name: "file not in the manifest",
    method: "GET",
    path: `/models/${FIXTURE_ID}/generate.py`,
    status: 404,
    code: "not_found",
  },
  {
    name: "traversal out of the model folder",
    method: "GET",
    path: `/models/${FIXTURE_ID}/..%2f..%2f..%2fdeno.json`,
    status: 404,
    code: "not_found",
  },
  {
    name: "bad range",
    method: "GET",
    path: `/models/${FIXTURE_ID}/tokenizer.json`,
    init: { headers: { range: "bytes=999999-" } },
    status: 416,
    code: "invalid_input",
  },
  {
    name: "malformed range",
    method: "GET",
    path: `/models/${FIXTURE_ID}/tokenizer.json`,
    init: { headers: { range: "bytes=z-1" } },
    status: 416,
    code: "invalid_input",
  },
  {
    name: "traversal out of the SDK folder",
    method: "GET",
    path: "/sdk/..%2f..%2fdeno.json",
    status: 404,
    code: "not_found",
  },
  {
    name: "hidden file of the demo folder",
    method: "GET",
    path: "/.git/config",
    status: 404,
    code: "not_found",
  },
  {
    name: "job id of 10,000 characters",
    method: "GET",
    path: `/v1/edits/${"a".repeat(10_000)}`,
    status: 404,
    code: "not_found",
    maxMessage: 200,
  },
  { name: "unknown route", method: "GET", path: "/v1/nothing", status: 404, code: "not_found" },
  ...["PUT", "DELETE", "PATCH"].map((method) => ({
    name: `${method} on the edit route`,
    method,
    path: "/v1/edits",
    status: 405,
    code: "method_not_allowed",
    allow: "POST",
  })),
  {
    name: "DELETE on a job",
    method: "DELETE",
    path: "/v1/edits/0000000000000000000000000",
    status: 405,
    code: "method_not_allowed",
    allow: "GET, HEAD",
  },
  // The OpenAI-compatible endpoint.
  {
    name: "OpenAI: no prompt",
    path: "/v1/images/edits",
    init: openai({}),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "OpenAI: prompt of zero-width characters",
    path: "/v1/images/edits",
    init: openai({ prompt: "\u200b\u200b" }),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "OpenAI: multipart without its closing boundary",
    path: "/v1/images/edits",
    init: multipartText(
      '--XyZ\r\ncontent-disposition: form-data; name="prompt"\r\n\r\nmake it blue\r\n',
    ),
    status: 400,
    code: "invalid_input",
    message: /malformed/,
  },
  {
    name: "OpenAI: no image",
    path: "/v1/images/edits",
    init: openai({ prompt: "x" }, null),
    status: 400,
    code: "invalid_input",
  },
  {
    name: "OpenAI: n = 0",
    path: "/v1/images/edits",
    init: openai({ prompt: "x", n: "0" }),
    status: 400,
    code: "invalid_option",
  },
  {
    name: "OpenAI: n too large",
    path: "/v1/images/edits",
    init: openai({ prompt: "x", n: "50" }),
    status: 400,
    code: "invalid_option",
  },
  {
    name: "OpenAI: bad size",
    path: "/v1/images/edits",
    init: openai({ prompt: "x", size: "huge" }),
    status: 400,
    code: "invalid_option",
  },
  {
    name: "OpenAI: bad response_format",
    path: "/v1/images/edits",
    init: openai({ prompt: "x", response_format: "xml" }),
    status: 400,
    code: "invalid_option",
  },
  {
    name: "OpenAI: streaming",
    path: "/v1/images/edits",
    init: openai({ prompt: "x", stream: "true" }),
    status: 400,
    code: "invalid_option",
  },
  {
    name: "OpenAI: JSON body",
    path: "/v1/images/edits",
    init: jsonEdit({ prompt: "x" }),
    status: 415,
    code: "unsupported_format",
  },
  {
    name: "OpenAI: unknown model",
    path: "/v1/images/edits",
    init: openai({ prompt: "x", model: "mine" }),
    status: 404,
    code: "model_not_found",
  },
];

Deno.test(`bad-input corpus: ${CASES.length} malformed requests each get their 4xx; the server keeps serving`, async () => {
  assert.ok(CASES.length >= 30);
  const server = await startServer({ limits: { maxBodyBytes: MAX_BODY_BYTES }, rateLimit: false });
  try {
    for (const item of CASES) {
      const response = await fetch(`${server.url}${item.path ?? "/v1/edits"}`, {
        method: item.method ?? "POST",
        ...item.init,
      });
      const text = await response.text();
      assert.equal(response.status, item.status, `${item.name}: ${text}`);
      const body = ErrorBodySchema.parse(JSON.parse(text));
      assert.equal(body.error.code, item.code, `${item.name}: ${text}`);
      assert.ok(body.error.message.length > 0);
      if (item.message) assert.match(body.error.message, item.message, item.name);
      assert.ok(text.length <= (item.maxMessage ?? 100_000) + 300, `${item.name}: ${text.length}`);
      if (item.allow) assert.equal(response.headers.get("allow"), item.allow, item.name);
      assert.ok(response.headers.get("x-request-id"), `${item.name}: request id`);
    }
    assert.ok(
      !server.logs.some((record) => record.level === "error"),
      "no request was a server error",
    );
    const longest = Math.max(...server.logs.map((record) => JSON.stringify(record).length));
    assert.ok(longest < 2_000, `log records stay short (longest ${longest} characters)`);

    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const edit = await fetch(`${server.url}/v1/edits`, {
      method: "POST",
      body: editForm(png, { options: JSON.stringify({ steps: 2, seed: 1 }) }),
      headers: { prefer: "wait" },
    });
    assert.equal(edit.status, 200, "an edit still works after the corpus");
    const job = JobViewSchema.parse(await edit.json());
    assert.equal(job.status, "completed");
    for (
      const [query, code] of [["format=gif", "invalid_option"], ["size=0x0", "invalid_option"]]
    ) {
      const result = await fetch(`${server.url}${job.urls.result}?${query}`);
      assert.equal(result.status, 400, query);
      assert.equal((await result.json()).error.code, code);
    }
    const emoji = await fetch(`${server.url}/v1/edits`, {
      method: "POST",
      body: editForm(png, { instruction: "🔵".repeat(2000) }),
    });
    assert.equal(emoji.status, 202, "2,000 emoji are 2,000 characters as typed");
    await cancelAfter(server.url, await emoji.json());
  } finally {
    await server.close();
  }
});

Deno.test("careless and hostile clients over raw HTTP: cut, stalled and oversized bodies, TRACE, a forged Host", async (t) => {
  const server = await startServer({
    rateLimit: false,
    limits: { bodyIdleMs: 300, bodyTimeoutMs: 1_000, maxUploads: 4 },
  });
  const host = new URL(server.url).host;
  const post = (path: string, type: string, length: number) =>
    `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${type}\r\nContent-Length: ${length}`;
  try {
    await t.step("a JSON body cut short is a 4xx or a closed connection, never a 500", async () => {
      for (const type of ["application/json", "multipart/form-data; boundary=XyZ"]) {
        const answer = await rawExchange(
          server.url,
          post("/v1/edits", type, 100),
          type === "application/json" ? '{"instruction":' : "--XyZ\r\ncontent-disp",
          { closeWrite: true },
        );
        assert.ok(answer.closed, `${type}: the connection ends`);
        assert.ok(answer.status === null || answer.status === 400, `${type}: ${answer.text}`);
      }
    });

    await t.step(
      "a body that stalls gets 408 request_timeout; the connection then ends",
      async () => {
        const started = Date.now();
        const answer = await rawExchange(
          server.url,
          post("/v1/edits", "application/json", 1_000),
          '{"ins',
          { waitMs: 5_000, thenSend: "tru" },
        );
        assert.equal(answer.status, 408, answer.text);
        assert.match(answer.text, /request_timeout/);
        assert.ok(answer.closed, "closed once the client sends again");
        assert.ok(
          Date.now() - started < 3_000,
          `within the idle limit (${Date.now() - started} ms)`,
        );
      },
    );

    await t.step("a declared size over the limit is refused before the body is read", async () => {
      const started = Date.now();
      const answer = await rawExchange(
        server.url,
        post("/v1/images/edits", "multipart/form-data; boundary=XyZ", 20_000_000_000),
        "--XyZ",
        { waitMs: 500 },
      );
      assert.equal(answer.status, 413, answer.text);
      assert.ok(Date.now() - started < 1_000);
    });

    await t.step("past maxUploads bodies in flight: 503 busy with Retry-After", async () => {
      const stalled = Array.from(
        { length: 4 },
        () =>
          rawExchange(server.url, post("/v1/edits", "application/json", 1_000), "{", {
            waitMs: 1_000,
          }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await rawExchange(
        server.url,
        post("/v1/edits", "application/json", 2),
        "{}",
        { waitMs: 3_000 },
      );
      assert.equal(refused.status, 503, refused.text);
      assert.match(refused.text, /"busy"/);
      assert.match(refused.text, /\r\nretry-after: 1\r\n/i);
      assert.ok(refused.closed, "a refused upload's connection is closed");
      await new Promise((resolve) => setTimeout(resolve, 400));
      const stillHeld = await rawExchange(
        server.url,
        post("/v1/edits", "application/json", 2),
        "{}",
      );
      assert.equal(stillHeld.status, 503, "a stalled upload keeps its place after its 408");
      for (const answer of await Promise.all(stalled)) assert.equal(answer.status, 408);
      for (let tries = 0; tries < 40; tries++) {
        const free = await rawExchange(
          server.url,
          post("/v1/edits", "application/json", 2),
          "{}",
          { waitMs: 200 },
        );
        if (free.status !== 503) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    await t.step("TRACE on a route is 405 with Allow", async () => {
      const answer = await rawExchange(
        server.url,
        `TRACE /v1/edits HTTP/1.1\r\nHost: ${host}\r\nConnection: close`,
      );
      assert.equal(answer.status, 405, answer.text);
      assert.match(answer.text, /\r\nallow: POST\r\n/i);
    });

    await t.step("a forged Host never comes back in URLs", async () => {
      const form = new FormData();
      form.set("image", new File([png as Uint8Array<ArrayBuffer>], "in.png"));
      form.set("prompt", "make the red square blue");
      form.set("response_format", "url");
      const forged = { headers: { host: "evil.example:6666" } };
      const openai = await server.app.request(
        `http://evil.example:6666/v1/images/edits`,
        { method: "POST", body: form, ...forged },
      );
      const text = await openai.text();
      assert.equal(openai.status, 200, text);
      assert.doesNotMatch(text, /evil/);
      const queued = await server.app.request(`http://evil.example:6666/v1/edits`, {
        method: "POST",
        body: editForm(png),
        ...forged,
      });
      assert.doesNotMatch(queued.headers.get("location") ?? "", /evil/);
      const job = await queued.json();
      assert.doesNotMatch(JSON.stringify(job.urls), /evil/);
      await cancelAfter("", { urls: { cancel: `${server.url}${job.urls.cancel}` } });
    });

    assert.ok(
      !server.logs.some((record) => record.level === "error"),
      `no request was a server error: ${
        JSON.stringify(server.logs.find((record) => record.level === "error"))
      }`,
    );
  } finally {
    await server.close();
  }
});
