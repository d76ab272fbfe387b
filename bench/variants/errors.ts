/**
 * The error of every weight variant of one reduced real-width graph (export.py) against its fp32
 * graph on the same inputs, on onnxruntime-node.
 *
 *     deno run -A bench/variants/errors.ts --dir /tmp/editmgt-variants/transformer \
 *         [--runtimes node,node-float] [--threads 2] [--json bench/variants/results/transformer.json]
 *
 * The fp32 graph runs once on `node` as the reference. For each variant and runtime (see
 * common.ts: `node` is the package's node backend, `node-float` keeps float32 activations in the
 * int8 MatMuls) it reports, per output: for float outputs the max |variant - fp32|, that divided
 * by max |fp32|, and the relative RMS error ||variant - fp32|| / ||fp32||; for integer outputs
 * the share of elements that changed (the step graph's `sampled` tokens under the same `uniform`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ModelTensor, NamedTensors } from "../../src/model/backend.ts";
import {
  maxAbsDiff,
  openSession,
  readTensors,
  type Runtime,
  type TensorIndex,
  writeResult,
} from "./common.ts";

interface VariantFacts {
  files: string[];
  bytes: number;
}

interface Meta {
  component: string;
  inputs: TensorIndex;
  variants: Record<string, VariantFacts>;
}

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/editmgt-variants/transformer" },
    runtimes: { type: "string", default: "node,node-float" },
    threads: { type: "string", default: "2" },
    json: { type: "string" },
  },
});
const dir = args.dir;
const threads = Number(args.threads);
const meta: Meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
const inputs = await readTensors(dir, meta.inputs);

/** One run of a graph file, with its session load and run times. */
async function runGraph(runtime: Runtime, file: string) {
  const loadStarted = performance.now();
  const session = await openSession(runtime, `${dir}/${file}`, threads);
  const loadMs = performance.now() - loadStarted;
  const runStarted = performance.now();
  const outputs = await session.run(inputs);
  const runMs = performance.now() - runStarted;
  await session.release();
  return { outputs, loadMs: Math.round(loadMs), runMs: Math.round(runMs) };
}

function maxAbs(tensor: ModelTensor): number {
  let worst = 0;
  for (const value of tensor.data) worst = Math.max(worst, Math.abs(Number(value)));
  return worst;
}

/** ||a - b|| / ||b|| over all elements. */
function relativeRms(a: ModelTensor, b: ModelTensor): number {
  let error = 0;
  let norm = 0;
  for (let i = 0; i < b.data.length; i++) {
    const want = Number(b.data[i]);
    error += (Number(a.data[i]) - want) ** 2;
    norm += want ** 2;
  }
  return Math.sqrt(error / norm);
}

/** Per output: float -> max |diff|, relative to max |reference|, relative RMS; integer -> share changed. */
function compare(outputs: NamedTensors, reference: NamedTensors) {
  const figures: Record<string, Record<string, number>> = {};
  for (const [name, want] of Object.entries(reference)) {
    const got = outputs[name];
    if (want.type === "int64" || want.type === "int32") {
      let changed = 0;
      for (let i = 0; i < want.data.length; i++) if (got.data[i] !== want.data[i]) changed++;
      figures[name] = { changedShare: Number((changed / want.data.length).toPrecision(4)) };
    } else {
      const diff = maxAbsDiff(got, want).maxAbs;
      figures[name] = {
        maxAbs: Number(diff.toPrecision(3)),
        relativeToMaxAbs: Number((diff / maxAbs(want)).toPrecision(3)),
        relativeRms: Number(relativeRms(got, want).toPrecision(3)),
      };
    }
  }
  return figures;
}

const fp32 = await runGraph("node", meta.variants.fp32.files[0]);
const results: Record<string, unknown> = {};
for (const [dtype, facts] of Object.entries(meta.variants)) {
  if (dtype === "fp32") continue;
  for (const runtime of args.runtimes.split(",") as Runtime[]) {
    if (runtime === "node-float" && dtype !== "int8") continue; // the option changes int8 MatMuls only
    const run = await runGraph(runtime, facts.files[0]);
    results[`${dtype}/${runtime}`] = {
      bytes: facts.bytes,
      loadMs: run.loadMs,
      runMs: run.runMs,
      outputs: compare(run.outputs, fp32.outputs),
    };
    console.error(`${dtype}/${runtime}: ${JSON.stringify(results[`${dtype}/${runtime}`])}`);
  }
}
const result = {
  component: meta.component,
  threads,
  reference: {
    bytes: meta.variants.fp32.bytes,
    loadMs: fp32.loadMs,
    runMs: fp32.runMs,
    maxAbs: Object.fromEntries(
      Object.entries(fp32.outputs).filter(([, t]) => t.type === "float32").map((
        [name, t],
      ) => [name, Number(maxAbs(t).toPrecision(4))]),
    ),
  },
  variants: results,
};
console.log(JSON.stringify(result, null, 2));
if (args.json) await writeResult(args.json, result);
