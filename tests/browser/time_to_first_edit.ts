/**
 * Measures the demo's time to first edit per device, cold (empty browser profile) and warm
 * (reload), in headless Chromium against the edge server. Not a test: a measurement for the
 * README.
 *
 *     deno run -A tests/browser/time_to_first_edit.ts [MODEL_DIR] [DEVICES] [STEPS]
 *     deno run -A tests/browser/time_to_first_edit.ts models/editmgt-tiny wasm,webgpu,remote 12
 *
 * @module
 */

import { Demo, type DemoGlobals, openProfile, startApp } from "./harness.ts";

const [model = "models/editmgt-tiny", devices = "wasm,webgpu,remote", steps = "12"] = Deno.args;

const app = await startApp({ model });
const rows: string[] = [];
try {
  for (const device of devices.split(",")) {
    const profile = await openProfile();
    const demo = new Demo(profile.page, app);
    try {
      const times: string[] = [];
      for (const run of ["cold", "warm"]) {
        await demo.goto(device);
        await demo.pickSample(0);
        await demo.set("steps", steps);
        const outcome = await demo.edit(600_000);
        if (outcome !== "done") throw new Error(`${device} ${run}: ${await demo.errorText()}`);
        const metrics = await profile.page.evaluate(() =>
          (globalThis as unknown as DemoGlobals).demo.metrics
        );
        const seconds = (ms: number | null) => ms === null ? "-" : `${(ms / 1000).toFixed(1)} s`;
        times.push(`${seconds(metrics.readyAt)} / ${seconds(metrics.firstEditAt)}`);
        await demo.screenshot(`first-edit-${device}-${run}`);
      }
      rows.push(`| ${device} | ${steps} | ${times.join(" | ")} |`);
    } finally {
      await profile.close();
    }
  }
} finally {
  await app.close();
}
console.log(`model ${model}; cells: model ready / first edit done, after navigation`);
console.log("| device | steps | cold | warm |\n| --- | --- | --- | --- |");
console.log(rows.join("\n"));
