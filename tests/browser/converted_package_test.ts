/// <reference lib="dom" />
/**
 * The package converted from a synthetic snapshot in the released EditMGT layout (Gemma-2 context
 * encoder, CLIP pooled encoder, their two tokenizers) edits in Chromium through the SDK on WASM,
 * served by the edge server like any other model.
 */

import assert from "node:assert/strict";
import { syntheticPackage } from "../_shared/synthetic_package.ts";
import { skipReason, startApp, withScenario } from "./harness.ts";

Deno.test({
  name: "a converted EditMGT package edits in Chromium on WASM",
  ignore: skipReason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const app = await startApp({ model: await syntheticPackage() });
    try {
      await withScenario(app, async ({ page }) => {
        await page.goto(new URL("/samples/samples.json", app.url).href);
        const outcome = await page.evaluate(async ([sdk, manifest]) => {
          const { createEditor } = await import(sdk);
          const editor = await createEditor({ manifest, device: "wasm" });
          const image = new ImageData(48, 40);
          for (let i = 0; i < image.data.length; i += 4) image.data.set([200, 30, 30, 255], i);
          const result = await editor.edit({
            image,
            instruction: "make the red circle blue",
            options: { seed: 4, steps: 3 },
          });
          await editor.dispose();
          return {
            device: editor.device,
            seed: result.seed,
            size: [result.imageData.width, result.imageData.height],
            map: [result.localization.width, result.localization.height],
            mask: [result.mask.width, result.mask.height],
          };
        }, ["/sdk/mod.js", app.manifest]);
        const { map, mask, ...rest } = outcome;
        assert.deepEqual(rest, { device: "wasm", seed: 4, size: [48, 40] });
        assert.deepEqual(map, mask, "the default (change) map lies on the VQ token grid");
      });
    } finally {
      await app.close();
    }
  },
});
