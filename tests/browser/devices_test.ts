/// <reference lib="dom" />
/**
 * The demo page on the other devices: WebGPU (Chromium's SwiftShader adapter, fp32 model) and
 * the remote device against the running edge server (SSE progress, nothing downloaded).
 */

import assert from "node:assert/strict";
import { browserTest, logTiming, modelFiles } from "./harness.ts";

/** SwiftShader runs WebGPU on the CPU: a first edit compiles every shader, slowly. */
const WEBGPU_TIMEOUT = 400_000;

browserTest({
  name: "demo page on WebGPU (SwiftShader) in Chromium",
  async fn(t, { profile, page, demo }) {
    await t.step("a cold load downloads the model and edits on WebGPU", async () => {
      await demo.goto("webgpu");
      await demo.pickSample(0);
      await demo.set("steps", "4");
      await demo.edit(WEBGPU_TIMEOUT);
      const metrics = await demo.metrics();
      assert.equal(metrics.edits[0].device, "webgpu");
      assert.match((await page.textContent("#device-badge"))!, /webgpu/);
      await demo.screenshot("webgpu-after-edit");
      logTiming("webgpu cold", metrics);
    });

    await t.step("a warm reload edits on WebGPU without model requests", async () => {
      profile.modelRequests.length = 0;
      await demo.goto("webgpu");
      await demo.pickSample(1);
      await demo.set("steps", "4");
      await demo.edit(WEBGPU_TIMEOUT);
      assert.deepEqual(modelFiles(profile.modelRequests), []);
      logTiming("webgpu warm", await demo.metrics());
    });
  },
});

browserTest({
  name: "demo page on the remote device against the edge server",
  needsServer: true,
  async fn(t, { app, profile, page, demo }) {
    await t.step(
      "an edit runs on the server with step previews and downloads no model file",
      async () => {
        await demo.goto("remote");
        await demo.pickSample(0);
        await demo.set("steps", "8");
        await page.click("#edit");
        await page.waitForFunction(() =>
          document.getElementById("after")!.classList.contains("pixelated")
        );
        assert.equal(await demo.waitForOutcome(), "done", (await demo.errorText()) ?? "");
        const metrics = await demo.metrics();
        assert.equal(metrics.edits[0].device, "remote");
        assert.deepEqual(modelFiles(profile.modelRequests), []);
        const { result, source } = await demo.resultAndSourceSizes();
        assert.deepEqual(result, source);
        await demo.screenshot("remote-after-edit");
        logTiming("remote", metrics);
      },
    );

    await t.step(
      "aborting a remote edit through the SDK cancels it, and the next edit works",
      async () => {
        const outcome = await page.evaluate(async (manifest) => {
          const sdkUrl = "/sdk/mod.js";
          const sdk = await import(sdkUrl);
          const editor = await sdk.createEditor({ manifest, device: "remote" });
          const image = new ImageData(96, 64);
          image.data.fill(200);
          const controller = new AbortController();
          let steps = 0;
          const aborted = await editor.edit(
            { image, instruction: "make the red circle blue", options: { steps: 1000, seed: 1 } },
            {
              signal: controller.signal,
              onProgress: (event: { type: string }) => {
                if (event.type === "step" && ++steps === 2) controller.abort();
              },
            },
          ).then(() => "finished", (error: { code?: string }) => error.code);
          const next = await editor.edit({
            image,
            instruction: "make it green",
            options: { steps: 2 },
          });
          return { aborted, steps, next: [next.imageData.width, next.imageData.height] };
        }, app.manifest);
        assert.equal(outcome.aborted, "aborted");
        assert.ok(outcome.steps < 1000);
        assert.deepEqual(outcome.next, [96, 64]);
      },
    );
  },
});
