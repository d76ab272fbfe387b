/**
 * What a user sees when the Deno process lacks a flag the server needs, each found by running
 * the server in a process started without it: Deno KV (`--unstable-kv`, which this repository's
 * deno.json turns on, so the process runs without that config), and the permission to build the
 * SDK bundle on demand (`--allow-run`).
 */
import assert from "node:assert/strict";

/** Runs tests/server/request_process.ts with `flags`, `options` and `path`. */
async function requestInProcess(flags: string[], options: object, path = "/healthz") {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "tests/server/request_process.ts", JSON.stringify(options), path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, stdout: text(stdout), stderr: text(stderr) };
}

/** deno.json without its `"unstable": ["kv"]`: its import map and its node_modules only. */
const WITHOUT_CONFIG = ["--no-config", "--import-map=deno.json", "--node-modules-dir=manual"];

Deno.test("without --unstable-kv, createApp fails at once naming the flag (not Deno.openKv is not a function)", async () => {
  const { code, stderr } = await requestInProcess(["-A", ...WITHOUT_CONFIG], { kv: ":memory:" });
  assert.equal(code, 1);
  assert.match(stderr, /backend_unavailable|EditMGTError/);
  assert.match(stderr, /run it with --unstable-kv, or add "unstable": \["kv"\] to deno\.json/);
  assert.doesNotMatch(stderr, /is not a function/);
});

Deno.test("without --allow-run, /sdk/ answers 503 naming the permission the on-demand build needs", async () => {
  const missing = await Deno.makeTempDir({ prefix: "editmgt-no-sdk-" });
  await Deno.remove(missing);
  const { code, stdout, stderr } = await requestInProcess(
    ["--unstable-kv", "--allow-read", "--allow-write", "--allow-env", "--allow-net"],
    { static: { sdk: missing } },
    "/sdk/mod.js",
  );
  assert.equal(code, 0, stderr);
  const answer = JSON.parse(stdout.split("\n").find((line) => line.startsWith('{"status"'))!);
  assert.equal(answer.status, 503);
  const { error } = JSON.parse(answer.body);
  assert.equal(error.code, "backend_unavailable");
  assert.match(error.message, new RegExp(`no SDK bundle in "${missing}"`));
  assert.match(error.message, /--allow-run/);
  assert.match(error.message, /deno task build:sdk/);
});
