/**
 * The random tiny package (tests/fixtures/tiny-random, exported from the torch model by
 * tools/export) loads through the manifest loader and gives the same answers on every backend.
 * Its torch goldens are checked on onnxruntime-node by onnx_goldens_test.ts; this file checks
 * that node, wasm and webgpu agree on the typed calls the pipeline makes.
 */

import assert from "node:assert/strict";
import type { DeviceName } from "../../src/model/backend.ts";
import { loadModelComponents } from "../../src/model/components.ts";
import { openLocalModelPackage } from "../../src/model/deno.ts";
import { createBackend } from "../../src/model/deno.ts";
import type { StepOutput } from "../../src/sampler/model.ts";

const sanitizers = { sanitizeOps: false, sanitizeResources: false };
const TINY_RANDOM = new URL("../fixtures/tiny-random/", import.meta.url);
const FLOAT_TOLERANCE = 1e-4;
/**
 * Token ids may differ where a draw sits on a bin edge (inverse CDF, argmin) and the backends'
 * float sums round differently; at most this fraction of positions may.
 */
const MAX_ID_DISAGREEMENT = 0.01;

interface Answers {
  refTokens: Int32Array;
  pixels: Float32Array;
  context: Float32Array;
  pooled: Float32Array;
  step: StepOutput;
}

const answers = new Map<DeviceName, Promise<Answers>>();

function answersOn(device: DeviceName): Promise<Answers> {
  if (!answers.has(device)) answers.set(device, computeAnswers(device));
  return answers.get(device)!;
}

async function computeAnswers(device: DeviceName): Promise<Answers> {
  const model = await openLocalModelPackage(TINY_RANDOM);
  await using components = await loadModelComponents(model, await createBackend(device));
  const { vq, resolution } = model.manifest;
  const instruction = await components.encodeText(new Int32Array([3, 4, 5, 6]));
  const negative = await components.encodeText(new Int32Array(0));
  const source = Float32Array.from(
    { length: 3 * resolution.height * resolution.width },
    (_, i) => 0.5 + 0.45 * Math.sin(i * 0.37),
  );
  const refTokens = await components.vqEncode(source);
  const tokenCount = refTokens.length;
  const step = await components.stepModel({ negative, instruction }).step({
    tokens: refTokens.map((token, i) => i % 3 === 0 ? vq.maskTokenId : token),
    refTokens,
    timestep: 1 / 3,
    logGamma: Math.log(1.1),
    guidanceScale: 2,
    uniform: Float32Array.from({ length: tokenCount }, (_, i) => (i * 0.6180339887) % 1),
  });
  const pixels = await components.vqDecode(refTokens);
  return { refTokens, pixels, context: instruction.context, pooled: instruction.pooled, step };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i])), 0);
}

function disagreement(a: Int32Array, b: Int32Array): number {
  assert.equal(a.length, b.length);
  return a.filter((value, i) => value !== b[i]).length / a.length;
}

Deno.test({
  name: "tiny-random: node output is within the manifest's dimensions and ranges",
  ...sanitizers,
  async fn() {
    const { manifest } = await openLocalModelPackage(TINY_RANDOM);
    const { refTokens, pixels, context, pooled, step } = await answersOn("node");
    const tokenCount = manifest.vq.grid.height * manifest.vq.grid.width;
    assert.equal(refTokens.length, tokenCount);
    assert.equal(context.length, manifest.text.length * manifest.text.contextDim);
    assert.equal(pooled.length, manifest.text.pooledDim);
    assert.ok(pixels.every((value) => value >= 0 && value <= 1));
    assert.ok(step.sampledLogprob.every((value) => value <= 0 && value >= Math.log(1e-20) - 1e-3));
    const gridCells = manifest.transformer.grid.height * manifest.transformer.grid.width;
    for (let row = 0; row < manifest.text.length; row++) {
      const sum = step.textAttention.subarray(row * gridCells, (row + 1) * gridCells)
        .reduce((total, value) => total + value, 0);
      assert.ok(sum > 0 && sum <= 1 + 1e-4, `text_attention row ${row} sums to ${sum}`);
    }
  },
});

for (const device of ["wasm", "webgpu"] as const) {
  Deno.test({
    name: `tiny-random: ${device} agrees with node on text, VQ and step outputs`,
    ...sanitizers,
    async fn() {
      const node = await answersOn("node");
      const other = await answersOn(device);
      assert.ok(disagreement(other.refTokens, node.refTokens) <= MAX_ID_DISAGREEMENT);
      assert.ok(disagreement(other.step.sampled, node.step.sampled) <= MAX_ID_DISAGREEMENT);
      for (
        const [name, a, b] of [
          ["context", other.context, node.context],
          ["pooled", other.pooled, node.pooled],
          ["pixels", other.pixels, node.pixels],
          ["ref_logprob", other.step.refLogprob, node.step.refLogprob],
          ["text_attention", other.step.textAttention, node.step.textAttention],
        ] as const
      ) {
        const difference = maxDifference(a, b);
        assert.ok(difference < FLOAT_TOLERANCE, `${name} differs by ${difference}`);
      }
      const sameId = (_: number, i: number) => other.step.sampled[i] === node.step.sampled[i];
      const sampledLogprob = maxDifference(
        other.step.sampledLogprob.filter(sameId),
        node.step.sampledLogprob.filter(sameId),
      );
      assert.ok(sampledLogprob < FLOAT_TOLERANCE, `sampled_logprob differs by ${sampledLogprob}`);
    },
  });
}
