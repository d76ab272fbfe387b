/**
 * The SDK bundle built on demand (src/server/static/sdk.ts) when the configured folder is
 * missing: one build for every request, `busy` while it runs too long, its failure answered
 * with the reason and not retried. The build of a package installed from JSR is tested end to
 * end in tests/release/jsr_install_test.ts.
 */
import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import type { LogRecord } from "../../src/server/logging/index.ts";
import { SdkBuild } from "../../src/server/static/sdk.ts";

function sdkBuild(build: (outdir: string) => Promise<unknown>, maxWaitMs?: number) {
  const logs: LogRecord[] = [];
  const sdk = new SdkBuild({
    missing: "dist/sdk",
    build,
    log: (record) => logs.push(record),
    maxWaitMs,
  });
  return { sdk, logs };
}

Deno.test("a build running past maxWaitMs answers busy with Retry-After, then its folder", async () => {
  const gate = Promise.withResolvers<void>();
  const written = Promise.withResolvers<void>();
  const { sdk } = sdkBuild(async (outdir) => {
    await gate.promise;
    await Deno.writeTextFile(`${outdir}/mod.js`, "export {};\n");
    written.resolve();
  }, 10);
  try {
    const error = await sdk.folder().catch((error) => error);
    assert.ok(isEditMGTError(error, "busy"), String(error));
    assert.equal(error.details?.retryAfter, 5);
    assert.match(error.message, /the SDK is being built \(the folder "dist\/sdk" is missing\)/);
    gate.resolve();
    await written.promise;
    await new Promise((resolve) => setTimeout(resolve, 0));
    const [first, second] = await Promise.all([sdk.folder(), sdk.folder()]);
    assert.equal(first, second);
    assert.equal(await Deno.readTextFile(`${first}/mod.js`), "export {};\n");
  } finally {
    await sdk.close();
  }
});

Deno.test("a failed build is answered backend_unavailable with its reason, logged once, not retried", async () => {
  let builds = 0;
  const { sdk, logs } = sdkBuild(() => {
    builds++;
    return Promise.reject(new Error("deno bundle failed: no network"));
  });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(sdk.folder(), (error) =>
      isEditMGTError(error, "backend_unavailable") &&
      /no SDK bundle in "dist\/sdk", and building one failed: deno bundle failed/.test(
        error.message,
      ));
  }
  assert.equal(builds, 1);
  assert.equal(logs.filter((record) => record.msg === "SDK build failed").length, 1);
  await sdk.close();
});
