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

import { startApp, withScenario } from "./harness.ts";

const [model = "models/editmgt-tiny", devices = "wasm,webgpu,remote", steps = "12"] = Deno.args;

const app = await startApp({ model });
const rows: string[] = [];
try {
  for (const device of devices.split(",")) {
    const times = await withScenario(app, async ({ demo }) => {
      const cells: string[] = [];
      for (const run of ["cold", "warm"]) {
        await demo.goto(device);
        await demo.pickSample(0);
        await demo.set("steps", steps);
        await demo.edit(600_000).catch((error) => {
          throw new Error(`${device} ${run}: ${error.message}`);
        });
        const metrics = await demo.metrics();
        const seconds = (ms: number | null) => ms === null ? "-" : `${(ms / 1000).toFixed(1)} s`;
        cells.push(`${seconds(metrics.readyAt)} / ${seconds(metrics.firstEditAt)}`);
        await demo.screenshot(`first-edit-${device}-${run}`);
      }
      return cells;
    });
    rows.push(`| ${device} | ${steps} | ${times.join(" | ")} |`);
  }
} finally {
  await app.close();
}
console.log(`model ${model}; cells: model ready / first edit done, after navigation`);
console.log("| device | steps | cold | warm |\n| --- | --- | --- | --- |");
console.log(rows.join("\n"));
