/**
 * Shared by the variant scripts: raw tensor files (written by bench/real_size/common.py
 * `write_tensors`), the runtimes a graph is run on, and the error figures.
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { createBackend } from "../../src/model/select.ts";
import type { ModelSession, ModelTensor, NamedTensors } from "../../src/model/backend.ts";

/**
 * Where a graph runs:
 * - `node`: onnxruntime-node as the package's node backend creates sessions (optimization level
 *   "all"). There, onnxruntime fuses `DequantizeLinear(int8) -> MatMul` into an 8-bit
 *   `MatMulNBits` with `accuracy_level` 4, which quantizes the activations to int8 as well.
 * - `node-float`: the same with the session option `session.qdq_matmulnbits_accuracy_level = 1`,
 *   so the fused int8 MatMul keeps float32 activations.
 * - `wasm`: onnxruntime-web on WebAssembly, one thread.
 */
export type Runtime = "node" | "node-float" | "wasm";

/** Opens `path` (external data beside it) on `runtime` with `threads` intra-op threads. */
export async function openSession(
  runtime: Runtime,
  path: string,
  threads = 1,
): Promise<ModelSession> {
  if (runtime === "wasm") {
    const backend = await createBackend("wasm", { threads: 1 });
    return await backend.createSession({ model: await Deno.readFile(path), externalData: [] });
  }
  const session = await ort.InferenceSession.create(path, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    ...(runtime === "node-float"
      ? { extra: { session: { qdq_matmulnbits_accuracy_level: "1" } } }
      : {}),
  });
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds: NamedTensors): Promise<NamedTensors> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor(t.type, t.data, [...t.dims]);
      }
      const outputs = await session.run(ortFeeds);
      const result: NamedTensors = {};
      for (const [name, t] of Object.entries(outputs)) {
        result[name] = { type: t.type, data: t.data, dims: t.dims } as ModelTensor;
      }
      return result;
    },
    release: () => session.release(),
  };
}

/** One entry of a tensor index: dtype, shape and the raw little-endian file. */
export interface TensorEntry {
  dtype: "int64" | "float32";
  shape: number[];
  file: string;
}

/** Tensor name -> entry, as `write_tensors` returns it. */
export type TensorIndex = Record<string, TensorEntry>;

/** Reads every tensor of `index` from `dir`. */
export async function readTensors(dir: string, index: TensorIndex): Promise<NamedTensors> {
  const tensors: NamedTensors = {};
  for (const [name, entry] of Object.entries(index)) {
    const bytes = await Deno.readFile(`${dir}/${entry.file}`);
    tensors[name] = entry.dtype === "int64"
      ? { type: "int64", data: new BigInt64Array(bytes.buffer), dims: entry.shape }
      : { type: "float32", data: new Float32Array(bytes.buffer), dims: entry.shape };
  }
  return tensors;
}

/**
 * Max |a - b| over two tensors of the same size, and by how much the worst element exceeds the
 * tolerance `tol + tol * |b|` (0 when every element is within it).
 */
export function maxAbsDiff(
  a: ModelTensor,
  b: ModelTensor,
  tol = 0,
): { maxAbs: number; excess: number } {
  if (a.data.length !== b.data.length) throw new Error(`size ${a.data.length} != ${b.data.length}`);
  let maxAbs = 0;
  let excess = 0;
  for (let i = 0; i < a.data.length; i++) {
    const want = Number(b.data[i]);
    const diff = Math.abs(Number(a.data[i]) - want);
    maxAbs = Math.max(maxAbs, diff);
    excess = Math.max(excess, diff - tol - tol * Math.abs(want));
  }
  return { maxAbs, excess };
}

/** The share of equal elements of two tensors of the same size. */
export function agreement(a: ModelTensor, b: ModelTensor): number {
  let same = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] === b.data[i]) same++;
  return same / a.data.length;
}

/** Writes `value` as indented JSON (with a final newline), creating the folder. */
export async function writeResult(path: string, value: unknown): Promise<void> {
  const folder = path.substring(0, path.lastIndexOf("/"));
  if (folder) await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2) + "\n");
}
