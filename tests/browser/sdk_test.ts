/// <reference lib="dom" />
/**
 * The SDK's API in Chromium, without the demo page: probe, device choice, every kind of image
 * input, results, typed errors, the in-thread engine, running without Cache Storage, and
 * cancelling model creation.
 */

import assert from "node:assert/strict";
import { gifFile } from "../_shared/bad_images.ts";
import { browserTest, MODEL_FILES, modelFiles } from "./harness.ts";

const SDK = "/sdk/mod.js";
const SAMPLE = "/samples/shapes-1.png";

browserTest({
  name: "browser SDK in Chromium",
  async fn(t, { app, profile, page }) {
    // A same-origin document that does not start the demo.
    await page.goto(new URL("/samples/samples.json", app.url).href);
    await t.step(
      "probe reports SwiftShader WebGPU without shader-f16, WASM SIMD and storage",
      async () => {
        const report = await page.evaluate(async (sdk) => (await import(sdk)).probe(), SDK);
        assert.equal(report.webgpu.available, true);
        assert.equal(report.webgpu.fallback, true);
        assert.equal(report.webgpu.shaderF16, false);
        assert.ok(report.webgpu.limits.maxBufferSize > 0);
        assert.equal(report.wasm.available, true);
        assert.equal(report.storage.cacheStorage, true);
        assert.ok(report.storage.quota > 0);
      },
    );

    await t.step(
      "every image input gives the same edit for the same pixels and seed",
      async () => {
        const outcome = await page.evaluate(async ([sdk, manifest, sample]) => {
          const { createEditor } = await import(sdk);
          const editor = await createEditor({ manifest, device: "auto" });
          const blob = await (await fetch(sample)).blob();
          const bitmap = await createImageBitmap(blob);
          const canvas = document.createElement("canvas");
          canvas.width = bitmap.width;
          canvas.height = bitmap.height;
          const context = canvas.getContext("2d")!;
          context.drawImage(bitmap, 0, 0);
          const image = new Image();
          image.src = sample;
          const inputs: Record<string, unknown> = {
            blob,
            url: sample,
            imageData: context.getImageData(0, 0, canvas.width, canvas.height),
            bitmap,
            canvas,
            img: image,
          };
          const digests: Record<string, string> = {};
          let first: { seed: number; pngType: string; pngMatches: boolean } | null = null;
          for (const [kind, input] of Object.entries(inputs)) {
            const result = await editor.edit({
              image: input,
              instruction: "make the purple triangle white",
              options: { seed: 11, steps: 4 },
            });
            const digest = await crypto.subtle.digest("SHA-256", result.imageData.data);
            digests[kind] = Array.from(new Uint8Array(digest)).join(",");
            if (first === null) {
              const decoded = await createImageBitmap(result.image);
              const check = new OffscreenCanvas(decoded.width, decoded.height).getContext("2d")!;
              check.drawImage(decoded, 0, 0);
              const pixels = check.getImageData(0, 0, decoded.width, decoded.height).data;
              first = {
                seed: result.seed,
                pngType: result.image.type,
                pngMatches: pixels.every((value: number, i: number) =>
                  value === result.imageData.data[i]
                ),
              };
            }
          }
          await editor.dispose();
          return { device: editor.device, reason: editor.reason, digests, first };
        }, [SDK, app.manifest, SAMPLE]);
        assert.equal(outcome.device, "wasm");
        assert.match(outcome.reason, /software fallback/);
        const kinds = Object.keys(outcome.digests);
        assert.equal(new Set(Object.values(outcome.digests)).size, 1, JSON.stringify(kinds));
        assert.deepEqual(outcome.first, { seed: 11, pngType: "image/png", pngMatches: true });
      },
    );

    await t.step(
      "errors are typed: unsupported file, empty instruction, after dispose",
      async () => {
        const codes = await page.evaluate(async ({ sdk, manifest, gifBytes }) => {
          const { createEditor } = await import(sdk);
          const editor = await createEditor({ manifest, device: "wasm" });
          const image = new ImageData(32, 32);
          const codeOf = (promise: Promise<unknown>) =>
            promise.then(() => "resolved", (error: { code?: string }) => error.code);
          const gif = new Blob([new Uint8Array(gifBytes)]);
          const result: Record<string, string | undefined> = {
            gif: await codeOf(editor.edit({ image: gif, instruction: "make it blue" })),
            empty: await codeOf(editor.edit({ image, instruction: "   " })),
            steps: await codeOf(
              editor.edit({ image, instruction: "make it blue", options: { steps: 0 } }),
            ),
            flat: await codeOf(editor.edit({ image, instruction: "make it blue", steps: 4 })),
            missing: await codeOf(editor.edit({ image: "/samples/none.png", instruction: "x" })),
            disposed: "",
          };
          await editor.dispose();
          result.disposed = await codeOf(editor.edit({ image, instruction: "make it blue" }));
          return result;
        }, { sdk: SDK, manifest: app.manifest, gifBytes: [...gifFile()] });
        assert.deepEqual(codes, {
          gif: "unsupported_format",
          empty: "invalid_input",
          steps: "invalid_option",
          flat: "invalid_option",
          missing: "not_found",
          disposed: "internal",
        });
      },
    );

    await t.step("worker: false runs the engine on the page's thread", async () => {
      const size = await page.evaluate(async ([sdk, manifest, sample]) => {
        const { createEditor } = await import(sdk);
        const editor = await createEditor({ manifest, device: "wasm", worker: false });
        const result = await editor.edit({
          image: sample,
          instruction: "remove the red square",
          options: { steps: 2 },
        });
        await editor.dispose();
        return [result.imageData.width, result.imageData.height];
      }, [SDK, app.manifest, SAMPLE]);
      assert.deepEqual(size, [256, 256]);
    });

    await t.step(
      "unload frees the model and the next edit loads it again; reload switches weights",
      async () => {
        profile.modelRequests.length = 0;
        const outcome = await page.evaluate(async ([sdk, manifest]) => {
          const { createEditor } = await import(sdk);
          const events: string[] = [];
          const editor = await createEditor({
            manifest,
            device: "wasm",
            onProgress: (event: { type: string }) => events.push(event.type),
          });
          const request = {
            image: new ImageData(40, 30),
            instruction: "make it red",
            options: { steps: 2, seed: 3 },
          };
          const digest = async (result: { imageData: ImageData }) =>
            Array.from(
              new Uint8Array(await crypto.subtle.digest("SHA-256", result.imageData.data)),
            ).join(",");
          const before = await digest(await editor.edit(request));
          const readyBefore = events.filter((type) => type === "ready").length;
          await editor.unload();
          const after = await digest(await editor.edit(request));
          const readyAfterUnload = events.filter((type) => type === "ready").length;
          await editor.reload({ dtype: "fp32" });
          const reloaded = { device: editor.device, dtypes: editor.dtypes };
          const again = await digest(await editor.edit(request));
          await editor.dispose();
          const disposed = await editor.edit(request).then(
            () => "resolved",
            (error: { code?: string }) => error.code,
          );
          return {
            same: before === after && after === again,
            readyBefore,
            readyAfterUnload,
            readyAtEnd: events.filter((type) => type === "ready").length,
            reloaded,
            disposed,
          };
        }, [SDK, app.manifest]);
        assert.ok(outcome.same, "the same edit before unload, after it and after reload");
        assert.equal(outcome.readyBefore, 1);
        assert.equal(outcome.readyAfterUnload, 2, "the edit after unload loaded the model again");
        assert.equal(outcome.readyAtEnd, 3, "reload loaded it once more");
        assert.equal(outcome.reloaded.device, "wasm");
        assert.ok(Object.values(outcome.reloaded.dtypes).every((dtype) => dtype === "fp32"));
        assert.equal(outcome.disposed, "internal");
        assert.deepEqual(modelFiles(profile.modelRequests), [], "model files came from the store");
      },
    );

    await t.step("cache: false downloads in the worker and stores nothing", async () => {
      profile.modelRequests.length = 0;
      const stored = await page.evaluate(async ([sdk, manifest]) => {
        const { createEditor } = await import(sdk);
        const downloads: number[] = [];
        const editor = await createEditor({
          manifest,
          device: "wasm",
          cache: false,
          onProgress: (event: { type: string; loaded?: number }) => {
            if (event.type === "download") downloads.push(event.loaded!);
          },
        });
        await editor.edit({
          image: new ImageData(40, 30),
          instruction: "make it red",
          options: { steps: 2 },
        });
        await editor.dispose();
        const folders: string[] = [];
        for await (const name of (await navigator.storage.getDirectory()).keys()) {
          folders.push(name);
        }
        return { folders, caches: await caches.keys(), downloads: downloads.length };
      }, [SDK, app.manifest]);
      // The earlier steps filled the OPFS folder "editmgt-models"; this editor stored nothing.
      assert.deepEqual(stored.folders, ["editmgt-models"]);
      assert.deepEqual(stored.caches, []);
      assert.ok(stored.downloads > 0);
      assert.equal(modelFiles(profile.modelRequests).length, MODEL_FILES.length);
    });

    await t.step(
      "aborting createEditor stops the download and a later load completes it",
      async () => {
        profile.modelRequests.length = 0;
        const outcome = await page.evaluate(async ([sdk, manifest]) => {
          const { createEditor, modelCache } = await import(sdk);
          await modelCache().clear();
          const controller = new AbortController();
          const code = await createEditor({
            manifest,
            device: "wasm",
            signal: controller.signal,
            onProgress: (event: { type: string; loaded?: number }) => {
              if (event.type === "download" && event.loaded! > 0) controller.abort();
            },
          }).then(() => "created", (error: { code?: string }) => error.code);
          const hadModel = await modelCache().has(manifest);
          const editor = await createEditor({ manifest, device: "wasm" });
          const hasModel = await modelCache().has(manifest);
          await editor.dispose();
          return { code, hadModel, hasModel };
        }, [SDK, app.manifest]);
        assert.deepEqual(outcome, { code: "aborted", hadModel: false, hasModel: true });
      },
    );
  },
});
