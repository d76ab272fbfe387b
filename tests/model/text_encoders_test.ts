/**
 * The exported graphs of the real model's text encoders (tools/export/text_graphs.py), built from
 * the tiny reference models of shared/reference/text-encoders-parity, reproduce the reference's
 * float32 outputs: Gemma-2 `hidden_states[-2]` as `context`, CLIP `text_embeds` as `pooled`.
 * Fixture: tests/fixtures/text-encoders, written by `/usr/bin/python3 -m tools.export.text_fixture`.
 *
 * Tolerances (max abs, the reference README's section 8) and measured max errors, onnxruntime-node
 * 1.30 / onnxruntime-web 1.30 WASM:
 * - gemma2_upstream `context`: 5e-5; measured 4.8e-6 / 5.0e-6
 * - gemma2_qpas24 `context`: 5e-5; measured 4.5e-6 / 5.0e-6
 * - gemma2_softcap `context`: 2e-4; measured 1.4e-5 / 1.2e-5
 * - clip_legacy_pooling_probe `pooled`: 5e-6; measured 4.5e-8 / 6.0e-8
 * - clip_eos98_pooling_probe `pooled`: 5e-6; measured 6.0e-8 / 6.0e-8
 *
 * The reference's own float32 noise is about the same size (its float32 vs float64 runs differ by
 * 4.3e-6 / 5.3e-6 / 2.0e-5 on Gemma and 7e-8 on CLIP). A single row run alone (batch 1) matches
 * its row of the batch within the same tolerances.
 *
 * Needs -A (onnxruntime-node loads a native library; both runtimes read files).
 */
import assert from "node:assert/strict";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { readSafetensors } from "../_shared/safetensors.ts";

const FIXTURE = new URL("../fixtures/text-encoders/", import.meta.url);
const CASES = [
  "gemma2_upstream",
  "gemma2_qpas24",
  "gemma2_softcap",
  "clip_legacy_pooling_probe",
  "clip_eos98_pooling_probe",
] as const;
const RUNTIMES = { node: ortNode, wasm: ortWeb } as const;
// onnxruntime-web keeps its WASM instance alive between tests on purpose.
const sanitizers = { sanitizeOps: false, sanitizeResources: false };

ortWeb.env.wasm.numThreads = 1;

/** One case of the fixture: the graph's input ids and the reference output it must reproduce. */
interface Golden {
  graph: string;
  inputIds: { data: BigInt64Array; dims: number[] };
  output: string;
  expected: { data: Float32Array; dims: number[] };
  atol: number;
}

/** Reads `<case>.safetensors`: input ids, the reference output and its tolerance. */
async function readGolden(caseName: string): Promise<Golden> {
  const { tensors, metadata } = await readSafetensors(new URL(`${caseName}.safetensors`, FIXTURE));
  const tolerances: Record<string, { atol: number }> = JSON.parse(metadata.tolerances);
  const [[output, { atol }]] = Object.entries(tolerances);
  const ids = tensors.get(`${caseName}/inputs/input_ids`)!;
  const expected = tensors.get(`${caseName}/outputs/${output}`)!;
  return {
    graph: metadata.graph,
    inputIds: { data: ids.data as BigInt64Array, dims: ids.shape },
    output,
    expected: { data: expected.data as Float32Array, dims: expected.shape },
    atol,
  };
}

/** Runs a case's graph on `ids` [B,T] with one of the two runtimes; returns its only output. */
async function runGraph(
  runtime: keyof typeof RUNTIMES,
  golden: Golden,
  ids: { data: BigInt64Array; dims: number[] },
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const ort = RUNTIMES[runtime] as typeof ortNode;
  const session = await ort.InferenceSession.create(
    await Deno.readFile(new URL(golden.graph, FIXTURE)),
  );
  try {
    const outputs = await session.run({
      input_ids: new ort.Tensor("int64", ids.data, ids.dims),
    });
    const result = outputs[golden.output];
    return { data: result.data as Float32Array, dims: result.dims };
  } finally {
    await session.release();
  }
}

function maxAbsDifference(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length, "element count");
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    max = Math.max(max, Math.abs(actual[i] - expected[i]));
  }
  return max;
}

/** Row `row` of a [B, ...] tensor, as a [1, ...] tensor. */
function batchRow<T extends Float32Array | BigInt64Array>(
  tensor: { data: T; dims: number[] },
  row: number,
): { data: T; dims: number[] } {
  const size = tensor.data.length / tensor.dims[0];
  return {
    data: tensor.data.slice(row * size, (row + 1) * size) as T,
    dims: [1, ...tensor.dims.slice(1)],
  };
}

for (const runtime of Object.keys(RUNTIMES) as (keyof typeof RUNTIMES)[]) {
  for (const caseName of CASES) {
    Deno.test({
      name: `${runtime}: ${caseName} graph reproduces the reference's float32 output`,
      ...sanitizers,
      async fn() {
        const golden = await readGolden(caseName);
        const actual = await runGraph(runtime, golden, golden.inputIds);
        assert.deepEqual([...actual.dims], golden.expected.dims, "output shape");
        const difference = maxAbsDifference(actual.data, golden.expected.data);
        assert.ok(
          difference <= golden.atol,
          `${caseName}: max abs difference ${difference} above ${golden.atol}`,
        );
      },
    });
  }
}

Deno.test({
  name:
    "node: each graph gives a row alone what the reference gives it in the batch (dynamic batch)",
  ...sanitizers,
  async fn() {
    for (const caseName of CASES) {
      const golden = await readGolden(caseName);
      const row = golden.inputIds.dims[0] - 1;
      const actual = await runGraph("node", golden, batchRow(golden.inputIds, row));
      const expected = batchRow(golden.expected, row);
      assert.deepEqual([...actual.dims], expected.dims, `${caseName}: output shape`);
      const difference = maxAbsDifference(actual.data, expected.data);
      assert.ok(difference <= golden.atol, `${caseName} row ${row}: off by ${difference}`);
    }
  },
});
