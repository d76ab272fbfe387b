/**
 * The demo's localization heatmap for the README's quick-start edit ("make the red square blue"
 * on the first sample, seed 7, the shipped model's defaults, WASM in Chromium), as a screenshot of
 * the viewer (the result under the heatmap), with a check that the map lies on the red square:
 * the share of the map's mass, and of its tokens above lambda, that fall on the square.
 *
 * ```sh
 * deno run -A bench/localize/heatmap_screenshot.ts [--out <png>]
 * ```
 *
 * Default `--out`: models/editmgt-tiny/figures/demo-heatmap.png.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeImage } from "../../src/image/codec.ts";
import type { RgbaImage } from "../../src/image/types.ts";
import { type DemoGlobals, startApp, withScenario } from "../../tests/browser/harness.ts";

/** The README's quick start. */
const SAMPLE = "examples/web/samples/shapes-1.png";
const INSTRUCTION = "make the red square blue";
const SEED = 7;

/** The localization map the demo shows, as `state.result.localization`. */
interface ShownMap {
  width: number;
  height: number;
  data: Record<number, number>;
  lambda: number;
}

/** Per cell of a `width x height` grid over `image`: whether most of its pixels are red. */
function redCells(image: RgbaImage, width: number, height: number): boolean[] {
  const cellW = image.width / width;
  const cellH = image.height / height;
  return Array.from({ length: width * height }, (_, cell) => {
    const cx = cell % width;
    const cy = Math.floor(cell / width);
    let red = 0;
    let all = 0;
    for (let y = Math.floor(cy * cellH); y < Math.floor((cy + 1) * cellH); y++) {
      for (let x = Math.floor(cx * cellW); x < Math.floor((cx + 1) * cellW); x++) {
        const p = (y * image.width + x) * 4;
        const [r, g, b] = [image.data[p], image.data[p + 1], image.data[p + 2]];
        if (r > 180 && g < 90 && b < 90) red++;
        all++;
      }
    }
    return red * 2 > all;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string", default: "models/editmgt-tiny/figures/demo-heatmap.png" } },
  });
  const app = await startApp({ model: "models/editmgt-tiny" });
  try {
    const shown = await withScenario(app, async ({ page, demo }) => {
      await demo.open("wasm");
      await demo.pickSample(0);
      await demo.set("instruction", INSTRUCTION);
      await demo.set("seed", String(SEED));
      await demo.edit();
      await page.check("#show-heatmap");
      // The whole viewer shows the result with the heatmap (no before/after split).
      await demo.set("split", "0");
      await page.locator("#viewer").screenshot({ path: values.out });
      return await page.evaluate(() =>
        (globalThis as unknown as DemoGlobals & {
          demo: { state: { result: { localization: ShownMap } } };
        })
          .demo.state.result.localization
      );
    });
    const map = Float32Array.from({ length: shown.width * shown.height }, (_, j) => shown.data[j]);
    const source = await decodeImage(await Deno.readFile(SAMPLE));
    const square = redCells(source, shown.width, shown.height);
    let total = 0;
    let onSquare = 0;
    let above = 0;
    let aboveOnSquare = 0;
    for (let j = 0; j < map.length; j++) {
      total += map[j];
      if (square[j]) onSquare += map[j];
      if (map[j] >= shown.lambda) {
        above++;
        if (square[j]) aboveOnSquare++;
      }
    }
    const squareCells = square.filter(Boolean).length;
    console.log(
      `map ${shown.width}x${shown.height}, lambda ${shown.lambda.toFixed(3)}; ` +
        `${(onSquare / total * 100).toFixed(1)}% of the map's mass on the red square ` +
        `(${squareCells} of ${map.length} cells); ${aboveOnSquare} of ${above} cells above ` +
        `lambda on it; IoU ${(aboveOnSquare / (above + squareCells - aboveOnSquare)).toFixed(2)}`,
    );
    console.log(`wrote ${values.out}`);
  } finally {
    await app.close();
  }
}

if (import.meta.main) await main();
