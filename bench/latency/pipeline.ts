/**
 * Whole edits through the TypeScript pipeline on each backend, with the settings that
 * torch_reference.py uses, so that the two can be compared on the same machine.
 *
 *     XDG_RUNTIME_DIR=/tmp deno run -A bench/latency/pipeline.ts
 *         [--model tests/fixtures/tiny-random] [--devices node,wasm,webgpu] [--runs 10]
 *         [--threads N] [--json bench/latency/results/pipeline.json]
 *
 * One edit = `EditPipeline.edit` on a 64x64 RGBA picture (a red disk): instruction encoding (the
 * empty negative prompt is cached after the warm-up), VQ encode, the manifest's default number of
 * steps with lambda 0.3 and all text rows (the localization map is computed every step), VQ decode,
 * composite. Each device is loaded and warmed up (2 edits) before its timed edits.
 *
 * The backend is wrapped so that every `session.run` is timed: the steps phase minus the step
 * graph's own run time is what the sampler and the step adapter (tensor conversion, map, hold,
 * re-mask) cost, reported per step and as a fraction of one step's `session.run`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Backend, DeviceName, ModelSession } from "../../src/model/backend.ts";
import { denoSource } from "../../src/model/deno.ts";
import { createBackend } from "../../src/model/deno.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";
import type { EditInput, EditTimings } from "../../src/pipeline/types.ts";
import { diskImage } from "../../tests/pipeline/fixture.ts";
import { cpuMs, machine, median, round1, timing, writeJson } from "./measure.ts";

/** Same settings as torch_reference.py. */
export const LAMBDA = 0.3;
export const INSTRUCTION = "make the red circle blue";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "tests/fixtures/tiny-random" },
    devices: { type: "string", default: "node,wasm,webgpu" },
    runs: { type: "string", default: "10" },
    threads: { type: "string" },
    json: { type: "string" },
  },
});
const runs = Number(args.runs);
const devices = args.devices.split(",") as DeviceName[];
const threads = args.threads === undefined ? undefined : Number(args.threads);
const manifestUrl = new URL(
  `${args.model.replace(/\/$/, "")}/manifest.json`,
  `file://${Deno.cwd()}/`,
);

/** Milliseconds spent in `session.run` of the step graph since the last reset, and its calls. */
interface StepClock {
  ms: number;
  calls: number;
}

/** Wraps a backend so that every run of the step graph (the one with `ref_tokens`) is timed. */
function clockedBackend(inner: Backend, clock: StepClock): Backend {
  return {
    device: inner.device,
    capabilities: inner.capabilities,
    async createSession(graph) {
      const session = await inner.createSession(graph);
      if (!session.inputNames.includes("ref_tokens")) return session;
      const clocked: ModelSession = {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        async run(feeds) {
          const started = performance.now();
          const outputs = await session.run(feeds);
          clock.ms += performance.now() - started;
          clock.calls++;
          return outputs;
        },
        release: () => session.release(),
      };
      return clocked;
    },
  };
}

async function measureDevice(device: DeviceName) {
  const clock: StepClock = { ms: 0, calls: 0 };
  const backend = clockedBackend(await createBackend(device, { threads }), clock);
  const pipeline = await EditPipeline.load(manifestUrl, { backend, source: denoSource });
  const steps = pipeline.manifest.defaults.steps;
  const size = pipeline.manifest.resolution;
  const input: EditInput = {
    image: diskImage(size.width, size.height),
    instruction: INSTRUCTION,
    options: { seed: 1, lambda: LAMBDA, rows: "all", steps },
  };
  for (let i = 0; i < 2; i++) await pipeline.edit(input);
  const phases: EditTimings[] = [];
  const cpu: number[] = [];
  const stepRunMs: number[] = [];
  const samplerMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    clock.ms = 0;
    clock.calls = 0;
    const cpuStarted = cpuMs();
    const { timings } = await pipeline.edit({
      ...input,
      options: { ...input.options, seed: i + 2 },
    });
    if (clock.calls !== steps) throw new Error(`expected ${steps} step runs, saw ${clock.calls}`);
    cpu.push(cpuMs() - cpuStarted);
    phases.push(timings);
    stepRunMs.push(clock.ms / steps);
    samplerMs.push((timings.stepsMs - clock.ms) / steps);
  }
  await pipeline.dispose();
  const phase = (key: keyof EditTimings) => round1(median(phases.map((t) => t[key])));
  const perStepRun = median(stepRunMs);
  const perStepSampler = median(samplerMs);
  return {
    device,
    steps,
    edit: timing(phases.map((t) => t.totalMs)),
    editCpu: timing(cpu),
    phasesMs: {
      text: phase("textMs"),
      encode: phase("encodeMs"),
      steps: phase("stepsMs"),
      decode: phase("decodeMs"),
    },
    stepRunMs: round1(perStepRun),
    samplerPerStepMs: Number(perStepSampler.toFixed(3)),
    samplerFractionOfStep: Number((perStepSampler / perStepRun).toPrecision(3)),
  };
}

const results = [];
for (const device of devices) {
  const result = await measureDevice(device);
  console.error(JSON.stringify(result));
  results.push(result);
}
const report = {
  runtime: `onnxruntime 1.30.0 (node, web), Deno ${Deno.version.deno}`,
  model: args.model,
  machine: await machine(),
  threads: threads ?? "default",
  runs,
  settings: { lambda: LAMBDA, rows: "all", instruction: INSTRUCTION, image: "64x64 disk" },
  results,
};
console.log(JSON.stringify(report, null, 2));
if (args.json) await writeJson(args.json, report);
