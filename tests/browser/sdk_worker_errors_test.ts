/// <reference lib="dom" />
/**
 * The SDK's worker where it cannot start, in Chromium, answered with the package's `worker_failed`
 * code and a message that says what to do, never a raw `SecurityError` or "crashed: undefined":
 *
 * - the SDK bundle served from another origin than the page (two loopback servers on different
 *   ports): the browser refuses a cross-origin worker script; a worker the page makes on its own
 *   origin (the advice in the message) then edits;
 * - the worker's script not served as JavaScript (an HTML page, as an app server that answers
 *   unknown paths with index.html does, or a 404): the message names the script's URL.
 */

import assert from "node:assert/strict";
import { buildSdk } from "../../sdk/build.ts";
import { serveFiles } from "../sdk/file_server.ts";
import { MODEL_DIR, openProfile, skipReason } from "./harness.ts";

const path = (url: URL) => decodeURIComponent(url.pathname).replace(/\/$/, "");
const MODEL = path(new URL(`../../${MODEL_DIR}/`, import.meta.url));
const MANIFEST = "/models/tiny-random/manifest.json";

/** How `createEditor` failed, as the page saw it. */
interface Failure {
  name: string;
  code?: string;
  message: string;
}

Deno.test({
  name: "the SDK's worker failing to start is a worker_failed error that says what to do",
  ignore: skipReason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sdk = await Deno.makeTempDir({ prefix: "editmgt-sdk-" });
    await buildSdk({ outdir: sdk });
    const page = serveFiles({ "/models/tiny-random/": MODEL, "/sdk/": sdk });
    const cdn = serveFiles({ "/sdk/": sdk }, { cors: true });
    const profile = await openProfile();
    /** `createEditor` with the SDK from `origin`, as the page on `page` sees it fail. */
    const failure = (origin: URL, options: Record<string, unknown> = {}): Promise<Failure> =>
      profile.page.evaluate(async ({ sdk, manifest, options }) => {
        const { createEditor } = await import(sdk);
        return await createEditor({ manifest, device: "wasm", cache: false, ...options }).then(
          () => ({ name: "resolved", message: "" }),
          (error: Error & { code?: string }) => ({
            name: error.name,
            code: error.code,
            message: error.message,
          }),
        );
      }, { sdk: new URL("/sdk/mod.js", origin).href, manifest: MANIFEST, options });
    try {
      await profile.page.goto(new URL(MANIFEST, page.url).href);

      await t.step("the SDK from another origin: worker_failed, not SecurityError", async () => {
        const outcome = await failure(cdn.url);
        console.log(outcome);
        assert.equal(outcome.code, "worker_failed", JSON.stringify(outcome));
        assert.equal(outcome.name, "EditMGTError");
        assert.match(outcome.message, new RegExp(`${cdn.url.origin}/sdk/worker\\.js`));
        assert.match(outcome.message, /serve the SDK from your own origin/);
        assert.match(outcome.message, /`worker` option/);
      });

      for (const fault of [{ kind: "html" }, { kind: "status", status: 404 }] as const) {
        await t.step(
          `a worker script answered with ${fault.kind === "html" ? "an HTML page" : "404"}`,
          async () => {
            page.faults.set("/sdk/worker.js", fault);
            try {
              const outcome = await failure(page.url);
              console.log(outcome);
              assert.equal(outcome.code, "worker_failed", JSON.stringify(outcome));
              assert.doesNotMatch(outcome.message, /undefined/);
              assert.match(outcome.message, new RegExp(`${page.url.origin}/sdk/worker\\.js`));
            } finally {
              page.faults.delete("/sdk/worker.js");
            }
          },
        );
      }
    } finally {
      await profile.close();
      await Promise.all([page.close(), cdn.close()]);
      await Deno.remove(sdk, { recursive: true });
    }
  },
});
