/**
 * A server process for the restart and multi-process tests:
 * `deno run -A --unstable-kv serve_process.ts <kv path> <lease ms> <worker | accept-only>` serves
 * the fixture model on a free loopback port with its jobs in the given KV file, and prints one
 * JSON line `{"listening": port}` once it is ready. Logs go to stdout.
 */
import { createApp } from "../../src/server/mod.ts";
import { FIXTURE_MODEL } from "./helpers.ts";

const [kv, leaseMs, mode] = Deno.args;
const app = createApp({
  models: [FIXTURE_MODEL],
  kv,
  worker: mode !== "accept-only",
  queue: { leaseMs: Number(leaseMs) },
});
await app.ready;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
console.log(JSON.stringify({ listening: server.addr.port }));
