/**
 * One transformer step of the random tiny package (tests/fixtures/tiny-random: 16x16 VQ tokens,
 * 64 codes, text length 8) on each backend, through the same StepModel adapter the sampler uses.
 * Everything is loaded and warmed up (WebGPU shaders compiled) before timing starts.
 *
 *     XDG_RUNTIME_DIR=/tmp deno bench -A bench/backends.bench.ts
 */

import type { DeviceName } from "../src/model/backend.ts";
import { loadModelComponents } from "../src/model/components.ts";
import { openLocalModelPackage } from "../src/model/deno.ts";
import { createBackend } from "../src/model/deno.ts";
import type { StepInput, StepModel } from "../src/sampler/model.ts";

const model = await openLocalModelPackage(
  new URL("../tests/fixtures/tiny-random/", import.meta.url),
);
const { vq, resolution } = model.manifest;
const tokenCount = vq.grid.height * vq.grid.width;

async function warmStep(device: DeviceName): Promise<{ step: StepModel; input: StepInput }> {
  const components = await loadModelComponents(model, await createBackend(device));
  const instruction = await components.encodeText(new Int32Array([1, 2, 3]));
  const negative = await components.encodeText(new Int32Array(0));
  const refTokens = await components.vqEncode(
    Float32Array.from(
      { length: 3 * resolution.height * resolution.width },
      (_, i) => (i % 97) / 97,
    ),
  );
  const tokens = refTokens.map((token, i) => i % 2 === 0 ? vq.maskTokenId : token);
  const input: StepInput = {
    tokens,
    refTokens,
    timestep: 0.5,
    logGamma: Math.log(1.1),
    guidanceScale: 2,
    uniform: Float32Array.from({ length: tokenCount }, (_, i) => ((i * 0.618034) % 1)),
  };
  const step = components.stepModel({ negative, instruction });
  for (let i = 0; i < 3; i++) await step.step(input);
  return { step, input };
}

for (const device of ["node", "wasm", "webgpu"] as const) {
  const { step, input } = await warmStep(device);
  Deno.bench({
    name: `step graph, ${device}`,
    group: "tiny-random transformer step",
    baseline: device === "node",
    async fn() {
      await step.step(input);
    },
  });
}
