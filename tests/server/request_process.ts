/**
 * One request to an app in a process of its own, for tests of what a process's flags and
 * permissions change: `deno run [flags] request_process.ts <options JSON> <path>` creates the
 * app on the fixture model (no worker) with the given options, requests `path` in process and
 * prints one JSON line `{"status", "body"}`. Start-up errors are thrown (stderr, exit code 1).
 */
import { createApp } from "../../src/server/mod.ts";
import { FIXTURE_MODEL } from "./helpers.ts";

const [options, path] = Deno.args;
const app = createApp({ models: [FIXTURE_MODEL], worker: false, ...JSON.parse(options) });
try {
  const response = await app.request(path);
  console.log(JSON.stringify({ status: response.status, body: await response.text() }));
} finally {
  await app.close();
}
