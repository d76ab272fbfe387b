/**
 * Where one step of a package's transformer graph spends its time on onnxruntime-node: kernel
 * time per operator type, the number of kernels run after onnxruntime's graph optimizations, and
 * how much of the wall time of `session.run` is outside the kernels (per-node dispatch, tensor
 * copies in and out). Small models are dominated by the per-node cost, big ones by MatMul.
 *
 *     deno run -A bench/latency/profile_step.ts [--model tests/fixtures/tiny-random] [--threads N]
 *         [--runs 20] [--json bench/latency/results/profile.json]
 *
 * Inputs are contract-shaped from the manifest: a half-masked token grid, random source tokens,
 * random text features, the default guidance and gamma.
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { parseArgs } from "node:util";
import { parseManifest } from "../../src/model/manifest.ts";
import { machine, median, round1, timeRuns, timing, writeJson } from "./measure.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "tests/fixtures/tiny-random" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
    runs: { type: "string", default: "20" },
    json: { type: "string" },
  },
});
const folder = args.model.replace(/\/$/, "");
const threads = Number(args.threads);
const runs = Number(args.runs);
const manifest = parseManifest(JSON.parse(await Deno.readTextFile(`${folder}/manifest.json`)));
const transformer = manifest.components.find((c) => c.kind === "transformer");
if (!transformer) throw new Error("the manifest has no transformer component");
const graphPath = `${folder}/${transformer.files[0].path}`;

/** A deterministic generator of numbers in [0, 1) for the inputs (values do not matter). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function feeds(): Record<string, ort.Tensor> {
  const random = lcg(1);
  const { vq, text, defaults } = manifest;
  const n = vq.grid.height * vq.grid.width;
  const grid = [1, vq.grid.height, vq.grid.width];
  const token = () => BigInt(Math.floor(random() * vq.codebookSize));
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return {
    tokens: new ort.Tensor(
      "int64",
      BigInt64Array.from({ length: n }, () => random() < 0.5 ? BigInt(vq.maskTokenId) : token()),
      grid,
    ),
    ref_tokens: new ort.Tensor("int64", BigInt64Array.from({ length: n }, token), grid),
    context: new ort.Tensor(
      "float32",
      Float32Array.from({ length: 2 * text.length * text.contextDim }, normal),
      [2, text.length, text.contextDim],
    ),
    pooled: new ort.Tensor(
      "float32",
      Float32Array.from({ length: 2 * text.pooledDim }, normal),
      [2, text.pooledDim],
    ),
    micro_conds: new ort.Tensor("float32", Float32Array.from(manifest.transformer.microConds), [5]),
    timestep: new ort.Tensor("float32", new Float32Array([0.5]), [1]),
    log_gamma: new ort.Tensor("float32", new Float32Array([Math.log(defaults.gamma)]), []),
    guidance_scale: new ort.Tensor("float32", new Float32Array([defaults.guidance]), []),
    uniform: new ort.Tensor("float32", Float32Array.from({ length: n }, random), [1, n]),
  };
}

const options: ort.InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
};
const inputs = feeds();
const session = await ort.InferenceSession.create(graphPath, options);
const wall = timing(await timeRuns(() => session.run(inputs), { warmup: 3, runs }));
await session.release();

const profileDir = await Deno.makeTempDir({ prefix: "editmgt-profile-" });
const profiled = await ort.InferenceSession.create(graphPath, {
  ...options,
  enableProfiling: true,
  profileFilePrefix: `${profileDir}/step`,
});
const profiledRuns = 5;
for (let i = 0; i < profiledRuns; i++) await profiled.run(inputs);
profiled.endProfiling();
await profiled.release();
const [file] = [...Deno.readDirSync(profileDir)].filter((e) => e.name.endsWith(".json"));
const events: { cat: string; name: string; dur: number; args?: { op_name?: string } }[] = JSON
  .parse(await Deno.readTextFile(`${profileDir}/${file.name}`));
await Deno.remove(profileDir, { recursive: true });

const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"));
const runEvents = events.filter((e) => e.name === "model_run").map((e) => e.dur / 1000);
const byOp = new Map<string, number>();
for (const event of kernels) {
  const op = event.args?.op_name ?? "?";
  byOp.set(op, (byOp.get(op) ?? 0) + event.dur / 1000 / profiledRuns);
}
const byNode = new Map<string, number>();
for (const event of kernels) {
  const node = event.name.slice(0, -"_kernel_time".length);
  byNode.set(node, (byNode.get(node) ?? 0) + event.dur / 1000 / profiledRuns);
}
const kernelMs = [...byOp.values()].reduce((a, b) => a + b, 0);
const profiledRunMs = median(runEvents);
const result = {
  runtime: `onnxruntime-node ${ort.env.versions.common}, Deno ${Deno.version.deno}`,
  model: folder,
  machine: await machine(),
  threads,
  runs,
  stepMs: wall,
  kernelsPerRun: kernels.length / profiledRuns,
  profiledRunMs: round1(profiledRunMs),
  kernelMsPerRun: round1(kernelMs),
  outsideKernelsFraction: Number((1 - kernelMs / profiledRunMs).toPrecision(3)),
  topOps: [...byOp.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
    .map(([op, ms]) => ({ op, ms: Number(ms.toFixed(3)), share: round1(ms / kernelMs * 100) })),
  topNodes: [...byNode.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)
    .map(([node, ms]) => ({ node, ms: Number(ms.toFixed(3)) })),
};
console.log(JSON.stringify(result, null, 2));
if (args.json) await writeJson(args.json, result);
