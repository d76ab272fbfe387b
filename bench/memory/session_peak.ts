/**
 * Peak memory of one component's onnxruntime-node session: creates the session from the package's
 * files (external data read by onnxruntime from beside the graph), runs it once on contract-shaped
 * inputs, and prints the process's resident memory before, after creation and its peak (VmHWM)
 * as one JSON line. Run one component per process (bench/memory/run.sh) so peaks do not mix.
 *
 *   deno run -A bench/memory/session_peak.ts PACKAGE_DIR COMPONENT [--threads N] [--dtype D]
 *
 * `--dtype` measures one of the component's weight variants instead of its base files.
 */

import * as ort from "onnxruntime-node";
import { ManifestSchema } from "../../src/schema/mod.ts";

const [folder, name, ...rest] = Deno.args;
const option = (flag: string) => {
  const at = rest.indexOf(flag);
  return at < 0 ? undefined : rest[at + 1];
};
const threads = Number(option("--threads") ?? 2);
const dtype = option("--dtype");
const manifest = ManifestSchema.parse(
  JSON.parse(await Deno.readTextFile(`${folder}/manifest.json`)),
);
const component = manifest.components.find((c) => c.name === name);
if (component === undefined) throw new Error(`no component ${name} in ${folder}`);
const variant = dtype === undefined || dtype === (component.dtype ?? "fp32")
  ? undefined
  : component.variants?.find((candidate) => candidate.dtype === dtype);
if (dtype !== undefined && variant === undefined && dtype !== (component.dtype ?? "fp32")) {
  throw new Error(`${name} offers no ${dtype} weights`);
}
const files = variant?.files ?? component.files;
const graph = files.find((file) => file.path.endsWith(".onnx"))!;

/** Resident set size and its peak, in bytes, from /proc/self/status. */
function memory(): { rss: number; peak: number } {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kib = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

function feeds(): Record<string, ort.Tensor> {
  const { vq, text, resolution, transformer } = manifest;
  const tokens = vq.grid.height * vq.grid.width;
  const ids = (length: number) =>
    new ort.Tensor("int64", new BigInt64Array(length).fill(5n), [1, length]);
  switch (component!.kind) {
    case "text-encoder":
      return {
        input_ids: ids(
          component!.role === "pooled" ? text.pooledLength ?? text.length : text.length,
        ),
      };
    case "vq-encoder": {
      const pixels = new Float32Array(3 * resolution.height * resolution.width).fill(0.5);
      return {
        pixels: new ort.Tensor("float32", pixels, [1, 3, resolution.height, resolution.width]),
      };
    }
    case "vq-decoder":
      return {
        tokens: new ort.Tensor("int64", new BigInt64Array(tokens).fill(1n), [
          1,
          vq.grid.height,
          vq.grid.width,
        ]),
      };
    case "transformer": {
      const grid = [1, vq.grid.height, vq.grid.width];
      return {
        tokens: new ort.Tensor(
          "int64",
          new BigInt64Array(tokens).fill(BigInt(vq.maskTokenId)),
          grid,
        ),
        ref_tokens: new ort.Tensor("int64", new BigInt64Array(tokens).fill(1n), grid),
        context: new ort.Tensor("float32", new Float32Array(2 * text.length * text.contextDim), [
          2,
          text.length,
          text.contextDim,
        ]),
        pooled: new ort.Tensor("float32", new Float32Array(2 * text.pooledDim), [
          2,
          text.pooledDim,
        ]),
        micro_conds: new ort.Tensor("float32", Float32Array.from(transformer.microConds), [
          transformer.microConds.length,
        ]),
        timestep: new ort.Tensor("float32", new Float32Array([1]), [1]),
        log_gamma: new ort.Tensor("float32", new Float32Array([0.1]), []),
        guidance_scale: new ort.Tensor("float32", new Float32Array([6]), []),
        uniform: new ort.Tensor("float32", new Float32Array(tokens).fill(0.5), [1, tokens]),
      };
    }
    default:
      throw new Error(`${component!.kind} is not a graph`);
  }
}

const before = memory();
const started = performance.now();
const session = await ort.InferenceSession.create(`${folder}/${graph.path}`, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
});
const created = memory();
const inputs = feeds();
const usedInputs = Object.fromEntries(
  Object.entries(inputs).filter(([input]) => session.inputNames.includes(input)),
);
await session.run(usedInputs);
const ran = memory();
await session.release();
console.log(JSON.stringify({
  component: name,
  dtype: variant?.dtype ?? component.dtype ?? "fp32",
  fileBytes: files.reduce((sum, file) => sum + file.bytes, 0),
  rssBefore: before.rss,
  rssAfterCreate: created.rss,
  peakRss: ran.peak,
  seconds: (performance.now() - started) / 1000,
  threads,
}));
