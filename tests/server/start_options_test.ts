/** The settings of `deno task start` (examples/server/main.ts) that take a flag or the environment. */
import assert from "node:assert/strict";
import { corsOriginsOption, publicUrlOption } from "../../examples/server/main.ts";

Deno.test("--cors-origins / CORS_ORIGINS: a list, *, or the server's default; the flag wins", () => {
  assert.equal(corsOriginsOption([], undefined), undefined);
  assert.equal(corsOriginsOption([], "*"), "*");
  assert.deepEqual(corsOriginsOption([], "https://a.example, https://b.example"), [
    "https://a.example",
    "https://b.example",
  ]);
  assert.deepEqual(corsOriginsOption(["--cors-origins", "https://c.example"], "*"), [
    "https://c.example",
  ]);
});

Deno.test("--public-url / PUBLIC_URL: given, else the loopback address, else none", () => {
  const loopback = { hostname: "127.0.0.1", port: 8000 };
  assert.equal(publicUrlOption([], undefined, loopback), "http://127.0.0.1:8000");
  assert.equal(publicUrlOption([], "https://edits.example", loopback), "https://edits.example");
  assert.equal(
    publicUrlOption(["--public-url=https://flag.example"], "https://env.example", loopback),
    "https://flag.example",
  );
  assert.equal(publicUrlOption([], undefined, { hostname: "0.0.0.0", port: 8000 }), undefined);
});
