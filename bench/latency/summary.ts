/**
 * Prints the measured figures as Markdown tables (for the README's "Performance" section) from
 * the JSON results that bench/latency/run.sh and bench/real_size/run.sh write.
 *
 *     deno run -A bench/latency/summary.ts
 *
 * @module
 */

interface EditTiming {
  median: number;
}

interface TorchLatency {
  threads: number;
  steps: number;
  edit: EditTiming;
  editCpu?: EditTiming;
  phasesMs: Record<string, number>;
}

interface DeviceLatency {
  device: string;
  steps: number;
  edit: EditTiming;
  editCpu?: EditTiming;
  phasesMs: Record<string, number>;
  stepRunMs: number;
  samplerPerStepMs: number;
  samplerFractionOfStep: number;
}

interface PipelineLatency {
  threads: number | "default";
  results: DeviceLatency[];
}

const LATENCY = new URL("./results/", import.meta.url);
const REAL_SIZE = new URL("../real_size/results/", import.meta.url);

async function readJson<T>(url: URL): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(url));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;
const ratio = (torch: number, other: number) => `${(torch / other).toFixed(2)}x`;
/** Results written before CPU time was recorded have none. */
const cpuMsCell = (t?: EditTiming) => t ? ms(t.median) : "-";
const cpuRatio = (torch?: EditTiming, other?: EditTiming) =>
  torch && other ? ratio(torch.median, other.median) : "-";

async function latencyTable(name: string): Promise<string[]> {
  const folder = new URL(`${name}/`, LATENCY);
  const torch2 = await readJson<TorchLatency>(new URL("torch-t2.json", folder));
  const torch1 = await readJson<TorchLatency>(new URL("torch-t1.json", folder));
  const all = await readJson<PipelineLatency>(new URL("pipeline.json", folder));
  const one = await readJson<PipelineLatency>(new URL("pipeline-t1.json", folder));
  const reference = torch2 ?? torch1;
  if (!reference || !all) return [];
  const lines = [
    `#### ${name} (${reference.steps} steps)`,
    "",
    "| runtime | threads | edit (median) | text | VQ encode | steps | VQ decode | per step | torch / this | edit CPU time | torch / this (CPU) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const torchRow = (t: TorchLatency) =>
    `| torch reference | ${t.threads} | ${ms(t.edit.median)} | ${ms(t.phasesMs.text)} | ${
      ms(t.phasesMs.encode)
    } | ${ms(t.phasesMs.steps)} | ${ms(t.phasesMs.decode)} | ${
      ms(t.phasesMs.steps / t.steps)
    } | 1.00x | ${cpuMsCell(t.editCpu)} | 1.00x |`;
  const deviceRow = (d: DeviceLatency, threads: string, torch: TorchLatency) =>
    `| ${d.device} | ${threads} | ${ms(d.edit.median)} | ${ms(d.phasesMs.text)} | ${
      ms(d.phasesMs.encode)
    } | ${ms(d.phasesMs.steps)} | ${ms(d.phasesMs.decode)} | ${ms(d.phasesMs.steps / d.steps)} | ${
      ratio(torch.edit.median, d.edit.median)
    } | ${cpuMsCell(d.editCpu)} | ${cpuRatio(torch.editCpu, d.editCpu)} |`;
  lines.push(torchRow(reference));
  for (const result of all.results) {
    const threads = result.device === "node" ? "default" : result.device === "wasm" ? "1" : "GPU";
    lines.push(deviceRow(result, threads, reference));
  }
  if (torch1 && one) {
    if (torch1 !== reference) lines.push(torchRow(torch1));
    for (const result of one.results) lines.push(deviceRow(result, "1", torch1));
  }
  lines.push(
    "",
    "Sampler and step adapter per step (steps phase minus the step graph's `session.run`):",
    "",
    "| backend | threads | step `session.run` | sampler + adapter | fraction of a step |",
    "|---|---|---|---|---|",
  );
  for (const [set, threads] of [[all, "default"], [one, "1"]] as const) {
    for (const d of set?.results ?? []) {
      lines.push(
        `| ${d.device} | ${threads} | ${ms(d.stepRunMs)} | ${d.samplerPerStepMs.toFixed(2)} ms | ${
          (d.samplerFractionOfStep * 100).toFixed(1)
        }% |`,
      );
    }
  }
  return [...lines, ""];
}

interface RealSizeNode {
  threads: number;
  stepMs: EditTiming;
  stepCpuMs?: EditTiming;
  blockMs: { double: number; single: number; rest: number };
  fullModelStepMsEstimate: number;
  check: Record<string, number>;
  parameters: number;
  weightBytes: number;
  profileShares: { double: number; single: number; rest: number };
  sampler: { perStepMs: { lambda0: number; lambda03: number }; fractionOfMeasuredStep: number };
}

interface RealSizeTorch {
  threads: number;
  stepMs: EditTiming;
  stepCpuMs?: EditTiming;
  blockMs: { double: number; single: number; rest: number };
}

async function realSizeTable(threads: number): Promise<string[]> {
  const node = await readJson<RealSizeNode>(new URL(`node-t${threads}.json`, REAL_SIZE));
  const torch = await readJson<RealSizeTorch>(new URL(`torch-t${threads}.json`, REAL_SIZE));
  if (!node || !torch) return [];
  const full = (b: { double: number; single: number; rest: number }) =>
    b.rest + 14 * b.double + 28 * b.single;
  return [
    `#### Real-size step, ${threads} thread(s)`,
    "",
    `${(node.parameters / 1e6).toFixed(1)} M parameters, ${
      (node.weightBytes / 2 ** 20).toFixed(0)
    } MiB fp32. onnxruntime vs torch on the same inputs: ref_logprob max |diff| ${
      node.check.refLogprobMaxAbsDiff.toExponential(1)
    }, text_attention ${
      node.check.textAttentionMaxAbsDiff.toExponential(1)
    }, sampled tokens equal: ${(node.check.sampledAgreement * 100).toFixed(2)}%.`,
    "",
    "| runtime | step, 1+1 blocks (median) | double block | single block | rest | 14+28 estimate | torch / this | step CPU time | torch / this (CPU) |",
    "|---|---|---|---|---|---|---|---|---|",
    `| torch | ${ms(torch.stepMs.median)} | ${ms(torch.blockMs.double)} | ${
      ms(torch.blockMs.single)
    } | ${ms(torch.blockMs.rest)} | ${ms(full(torch.blockMs))} | 1.00x | ${
      cpuMsCell(torch.stepCpuMs)
    } | 1.00x |`,
    `| onnxruntime-node | ${ms(node.stepMs.median)} | ${ms(node.blockMs.double)} | ${
      ms(node.blockMs.single)
    } | ${ms(node.blockMs.rest)} | ${ms(node.fullModelStepMsEstimate)} | ${
      ratio(torch.stepMs.median, node.stepMs.median)
    } | ${cpuMsCell(node.stepCpuMs)} | ${cpuRatio(torch.stepCpuMs, node.stepCpuMs)} |`,
    ...cpuSplit(node, torch),
    "",
    `Sampler at real sizes (64x64 tokens, 256 text rows, 32x32 map, codebook 8192), per step: ${node.sampler.perStepMs.lambda0} ms with lambda 0, ${node.sampler.perStepMs.lambda03} ms with lambda 0.3 (map every step) = ${
      (node.sampler.perStepMs.lambda03 / (node.stepCpuMs ?? node.stepMs).median * 100).toFixed(3)
    }% of the 1+1-block step (CPU time where measured), ${
      (node.sampler.perStepMs.lambda03 / node.fullModelStepMsEstimate * 100).toFixed(3)
    }% of the estimated full step.`,
    "",
  ];
}

/**
 * The per-block split applied to CPU time (steadier than wall time on a shared machine):
 * onnxruntime's profile shares, and torch's hook times scaled by the run's CPU / wall ratio.
 */
function cpuSplit(node: RealSizeNode, torch: RealSizeTorch): string[] {
  if (!node.stepCpuMs || !torch.stepCpuMs) return [];
  const nodeCpu = node.stepCpuMs.median;
  const shares = node.profileShares;
  const ort = {
    double: nodeCpu * shares.double / 100,
    single: nodeCpu * shares.single / 100,
    rest: nodeCpu * shares.rest / 100,
  };
  const scale = torch.stepCpuMs.median / torch.stepMs.median;
  const pt = {
    double: torch.blockMs.double * scale,
    single: torch.blockMs.single * scale,
    rest: torch.blockMs.rest * scale,
  };
  const full = (b: typeof ort) => b.rest + 14 * b.double + 28 * b.single;
  return [
    "",
    "CPU time split:",
    "",
    "| runtime | step CPU | double block | single block | rest | 14+28 estimate |",
    "|---|---|---|---|---|---|",
    `| torch | ${ms(torch.stepCpuMs.median)} | ${ms(pt.double)} | ${ms(pt.single)} | ${
      ms(pt.rest)
    } | ${ms(full(pt))} |`,
    `| onnxruntime-node | ${ms(nodeCpu)} | ${ms(ort.double)} | ${ms(ort.single)} | ${
      ms(ort.rest)
    } | ${ms(full(ort))} |`,
    `| torch / onnxruntime | ${ratio(torch.stepCpuMs.median, nodeCpu)} | ${
      ratio(pt.double, ort.double)
    } | ${ratio(pt.single, ort.single)} | ${ratio(pt.rest, ort.rest)} | ${
      ratio(full(pt), full(ort))
    } |`,
  ];
}

const names = [];
try {
  for (const entry of Deno.readDirSync(LATENCY)) if (entry.isDirectory) names.push(entry.name);
} catch (error) {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}
const lines: string[] = [];
for (const name of names.sort()) lines.push(...await latencyTable(name));
for (const threads of [2, 1]) lines.push(...await realSizeTable(threads));
console.log(lines.join("\n"));
