/**
 * Whole edits of the random tiny package (tests/fixtures/tiny-random: 64x64 pixels, 16x16 VQ
 * tokens, 8 steps) through `EditPipeline` on each backend, from RGBA pixels to the composited
 * result: text (negative prompt cached), VQ encode, 8 transformer steps, VQ decode, composite.
 * The same edit as tools/parity/torch_latency.py times with the torch reference pipeline (lambda
 * 0.3, all text rows), for the ratio. Also the one-step region preview, onnxruntime-node limited to one thread (steadier on a busy
 * machine), and the engine's Worker overhead on node. Everything is loaded and warmed up before
 * timing starts.
 *
 *     XDG_RUNTIME_DIR=/tmp deno bench -A bench/pipeline.bench.ts
 */

import { createEngine } from "../src/engine/deno.ts";
import type { DeviceName } from "../src/model/backend.ts";
import { createBackend, denoSource } from "../src/model/deno.ts";
import { EditPipeline } from "../src/pipeline/pipeline.ts";
import type { EditInput } from "../src/pipeline/types.ts";
import { diskImage } from "../tests/pipeline/fixture.ts";

const MANIFEST = new URL("../tests/fixtures/tiny-random/manifest.json", import.meta.url);
/** Iterations per benchmark: an edit takes from tens of milliseconds (node) to seconds (webgpu). */
const RUNS = { n: 10, warmup: 1 };
const input: EditInput = {
  image: diskImage(64, 64),
  instruction: "make the red circle blue",
  options: { seed: 1, lambda: 0.3, rows: "all" },
};

for (const device of ["node", "wasm", "webgpu"] as const satisfies readonly DeviceName[]) {
  const pipeline = await EditPipeline.load(MANIFEST, { device, source: denoSource, createBackend });
  for (let i = 0; i < 2; i++) await pipeline.edit(input);
  Deno.bench({
    name: `edit, ${device}`,
    group: "tiny-random edit (8 steps)",
    baseline: device === "node",
    ...RUNS,
    async fn() {
      await pipeline.edit(input);
    },
  });
  Deno.bench({
    name: `previewRegion, ${device}`,
    group: "tiny-random region preview (1 step)",
    baseline: device === "node",
    ...RUNS,
    async fn() {
      await pipeline.previewRegion(input);
    },
  });
}

const singleThread = await EditPipeline.load(MANIFEST, {
  device: "node",
  backendOptions: { threads: 1 },
  source: denoSource,
  createBackend,
});
for (let i = 0; i < 2; i++) await singleThread.edit(input);
Deno.bench({
  name: "edit, node with 1 thread",
  group: "tiny-random edit (8 steps)",
  ...RUNS,
  async fn() {
    await singleThread.edit(input);
  },
});

const engine = createEngine({ manifest: MANIFEST, device: "node" });
await engine.ready;
for (let i = 0; i < 2; i++) await engine.edit(input);
Deno.bench({
  name: "edit, node in the engine's Worker",
  group: "tiny-random edit (8 steps)",
  ...RUNS,
  async fn() {
    await engine.edit(input);
  },
});
