/**
 * One real-size transformer step on onnxruntime-node, against the torch numbers of torch_step.py,
 * and the sampler's own cost per step at the same sizes.
 *
 *     deno run -A bench/real_size/step.ts [--dir /tmp/editmgt-real-size] [--threads 2] [--runs 5]
 *         [--json bench/real_size/results/node.json]
 *
 * Reads the graph, inputs and torch outputs written by export_step.py. It
 * 1. checks that onnxruntime reproduces torch (ref_logprob, text_attention, sampled tokens);
 * 2. times `session.run` through the package's node backend after one warm-up run;
 * 3. profiles one more session to split the step into the double block, the single block and the
 *    rest (embedding, conditioning, head, sampling) by node name, and extrapolates the full
 *    14 + 28 block model from it;
 * 4. times `sample()` with a model that costs nothing at the real sizes (64x64 tokens, 256 text
 *    rows, 32x32 map, codebook 8192): the sampler's own work per step.
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { parseArgs } from "node:util";
import { createBackend } from "../../src/model/deno.ts";
import type { ModelTensor, NamedTensors } from "../../src/model/backend.ts";
import { sample } from "../../src/sampler/mod.ts";
import { REAL, TOKENS, zeroCostModel } from "../fixtures.ts";
import {
  machine,
  median,
  round1,
  timeRuns,
  timeRunsWithCpu,
  timing,
  writeJson,
} from "../latency/measure.ts";

/** The full model's block counts (editmgt-1024). */
const FULL = { double: 14, single: 28 };
const SAMPLER_STEPS = 12;

interface TensorEntry {
  dtype: "int64" | "float32";
  shape: number[];
  file: string;
}

interface Meta {
  spec: Record<string, unknown>;
  config: { num_layers: number; num_single_layers: number };
  files: string[];
  parameters: number;
  weightBytes: number;
  inputs: Record<string, TensorEntry>;
  expected: Record<string, TensorEntry>;
}

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: "/tmp/editmgt-real-size" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
    runs: { type: "string", default: "5" },
    json: { type: "string" },
  },
});
const dir = args.dir;
const threads = Number(args.threads);
const runs = Number(args.runs);

async function readTensor(entry: TensorEntry): Promise<ModelTensor> {
  const bytes = await Deno.readFile(`${dir}/${entry.file}`);
  return entry.dtype === "int64"
    ? { type: "int64", data: new BigInt64Array(bytes.buffer), dims: entry.shape }
    : { type: "float32", data: new Float32Array(bytes.buffer), dims: entry.shape };
}

async function readTensors(index: Record<string, TensorEntry>): Promise<NamedTensors> {
  const tensors: NamedTensors = {};
  for (const [name, entry] of Object.entries(index)) tensors[name] = await readTensor(entry);
  return tensors;
}

function maxAbsDiff(a: ModelTensor, b: ModelTensor): number {
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    worst = Math.max(worst, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  }
  return worst;
}

function agreement(a: ModelTensor, b: ModelTensor): number {
  let same = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] === b.data[i]) same++;
  return same / a.data.length;
}

/** Which part of the model a profiled node belongs to, by the torch module path in its name. */
function part(nodeName: string): "double" | "single" | "rest" {
  if (nodeName.includes("single_transformer_blocks.")) return "single";
  if (nodeName.includes("transformer_blocks.")) return "double";
  return "rest";
}

/** Shares of kernel time per part over every run of a profiled session. */
async function profileShares(model: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-profile-" });
  try {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: `${folder}/step`,
    });
    await session.run(feeds);
    await session.run(feeds);
    session.endProfiling();
    await session.release();
    const [file] = [...Deno.readDirSync(folder)].filter((e) => e.name.endsWith(".json"));
    const events: { cat: string; name: string; dur: number }[] = JSON.parse(
      await Deno.readTextFile(`${folder}/${file.name}`),
    );
    const totals = { double: 0, single: 0, rest: 0 };
    for (const event of events) {
      if (event.cat !== "Node" || !event.name.endsWith("_kernel_time")) continue;
      totals[part(event.name)] += event.dur;
    }
    const sum = totals.double + totals.single + totals.rest;
    return { double: totals.double / sum, single: totals.single / sum, rest: totals.rest / sum };
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/** Milliseconds of the sampler's own work per step, with a step model that costs nothing. */
async function samplerPerStep(lambda: number) {
  const refTokens = new Int32Array(TOKENS).map((_, j) => (j * 13) % REAL.codebookSize);
  const model = zeroCostModel();
  const times = await timeRuns(() =>
    sample(model, {
      refTokens,
      tokenGrid: REAL.tokenGrid,
      codebookSize: REAL.codebookSize,
      maskTokenId: REAL.maskTokenId,
      timestep: "step-index",
      steps: SAMPLER_STEPS,
      guidance: 6,
      gamma: 1.1,
      lambda,
      seed: 1,
      localization: { attentionGrid: REAL.attentionGrid, textLength: REAL.textLength },
    }), { warmup: 2, runs: 10 });
  return median(times) / SAMPLER_STEPS;
}

const meta: Meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
if (meta.files.length !== 1) {
  throw new Error("expected the step graph in one file (no external data)");
}
const modelBytes = await Deno.readFile(`${dir}/${meta.files[0]}`);
const inputs = await readTensors(meta.inputs);
const expected = await readTensors(meta.expected);

const backend = await createBackend("node", { threads });
const loadStarted = performance.now();
const session = await backend.createSession({ model: modelBytes, externalData: [] });
const loadMs = performance.now() - loadStarted;
const outputs = await session.run(inputs);
const check = {
  refLogprobMaxAbsDiff: maxAbsDiff(outputs.ref_logprob, expected.ref_logprob),
  sampledLogprobMaxAbsDiff: maxAbsDiff(outputs.sampled_logprob, expected.sampled_logprob),
  textAttentionMaxAbsDiff: maxAbsDiff(outputs.text_attention, expected.text_attention),
  sampledAgreement: agreement(outputs.sampled, expected.sampled),
};
const stepTimes = await timeRunsWithCpu(() => session.run(inputs), { warmup: 1, runs });
await session.release();
const step = timing(stepTimes.wall);
const stepCpu = timing(stepTimes.cpu);

const ortFeeds: Record<string, ort.Tensor> = {};
for (const [name, tensor] of Object.entries(inputs)) {
  ortFeeds[name] = new ort.Tensor(tensor.type, tensor.data, [...tensor.dims]);
}
const shares = await profileShares(modelBytes, ortFeeds);
const { num_layers: double, num_single_layers: single } = meta.config;
const blockMs = {
  double: round1(step.median * shares.double / double),
  single: round1(step.median * shares.single / single),
  rest: round1(step.median * shares.rest),
};
const fullStepMs = round1(
  blockMs.rest + FULL.double * blockMs.double + FULL.single * blockMs.single,
);

const samplerMs = {
  lambda0: round1(await samplerPerStep(0)),
  lambda03: round1(await samplerPerStep(0.3)),
};
const result = {
  runtime: `onnxruntime-node ${ort.env.versions.common}, Deno ${Deno.version.deno}`,
  machine: await machine(),
  threads,
  runs,
  spec: meta.spec,
  parameters: meta.parameters,
  weightBytes: meta.weightBytes,
  sessionLoadMs: round1(loadMs),
  check,
  stepMs: step,
  stepCpuMs: stepCpu,
  profileShares: {
    double: round1(shares.double * 100),
    single: round1(shares.single * 100),
    rest: round1(shares.rest * 100),
  },
  blockMs,
  fullModelStepMsEstimate: fullStepMs,
  sampler: {
    steps: SAMPLER_STEPS,
    perStepMs: samplerMs,
    fractionOfMeasuredStep: Number((samplerMs.lambda03 / step.median).toPrecision(3)),
    fractionOfFullStepEstimate: Number((samplerMs.lambda03 / fullStepMs).toPrecision(3)),
  },
};
console.log(JSON.stringify(result, null, 2));
if (args.json) await writeJson(args.json, result);
