/**
 * A 1024 px edit at real widths on node: the real-width, layer-reduced random-weights package
 * (bench/memory/run.sh converts it) edits a 1024x768 photo-like image through `EditPipeline`.
 * Prints the time of each phase, the process's peak resident memory (VmHWM), and checks that the
 * output has the input's size and that every pixel of a kept token is the input's pixel.
 *
 * Region hold at lambda 0.5 keeps part of the tokens, so the composite check has pixels to check
 * (random weights change nearly every token they are free to change).
 *
 *   deno run -A bench/real_width/edit.ts [PACKAGE] [--steps 2] [--lambda 0.5] [--memory release]
 *     [--threads 2] [--image out.png] [--json results.json]
 */

import { parseArgs } from "node:util";
import { encodeImage } from "../../src/image/codec.ts";
import { tokenMaskToPixelMask } from "../../src/image/mask.ts";
import { createBackend, denoSource } from "../../src/model/deno.ts";
import type { MemoryRequest } from "../../src/model/memory.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";
import { photoLike } from "./photo.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    steps: { type: "string", default: "2" },
    lambda: { type: "string", default: "0.5" },
    memory: { type: "string", default: "release" },
    threads: { type: "string", default: "2" },
    image: { type: "string" },
    json: { type: "string" },
  },
});
const folder = positionals[0] ?? "/tmp/editmgt-real-widths/package";

/** VmHWM (peak resident set) of this process, in bytes. */
function peakRss(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

const started = performance.now();
const pipeline = await EditPipeline.load(new URL(`file://${folder}/manifest.json`), {
  device: "node",
  source: denoSource,
  createBackend,
  memory: values.memory as MemoryRequest,
  backendOptions: { threads: Number(values.threads) },
});
const loadMs = performance.now() - started;
const source = photoLike(1024, 768);
const result = await pipeline.edit({
  image: source,
  instruction: "make the sun blue",
  options: { seed: 1, steps: Number(values.steps), lambda: Number(values.lambda) },
});
await pipeline.dispose();

const kept = tokenMaskToPixelMask(
  { ...result.mask, data: result.mask.data.map((edited) => 1 - edited) },
  { width: source.width, height: source.height },
);
let keptPixels = 0;
let keptDiffer = 0;
for (let p = 0; p < kept.data.length; p++) {
  if (!kept.data[p]) continue;
  keptPixels++;
  for (let c = p * 4; c < p * 4 + 4; c++) {
    if (result.image.data[c] !== source.data[c]) {
      keptDiffer++;
      break;
    }
  }
}
if (values.image) await Deno.writeFile(values.image, await encodeImage(result.image));
const report = {
  package: folder,
  steps: Number(values.steps),
  lambda: Number(values.lambda),
  memory: pipeline.memory,
  threads: Number(values.threads),
  output: [result.image.width, result.image.height],
  keptPixels,
  keptPixelsChanged: keptDiffer,
  loadMs: Math.round(loadMs),
  timings: Object.fromEntries(
    Object.entries(result.timings).map(([name, ms]) => [name, Math.round(ms)]),
  ),
  peakRssBytes: peakRss(),
};
console.log(JSON.stringify(report, null, 2));
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(report, null, 2) + "\n");
if (keptDiffer > 0 || result.image.width !== 1024 || result.image.height !== 768) Deno.exit(1);
