/**
 * onnxruntime-node on the CPU: the fast server backend. Native code, so Deno needs
 * `--allow-ffi` (and read access to the package); never part of a browser bundle, which is why
 * {@linkcode createBackend} imports this file only when asked for `"node"`.
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Backend, GraphBytes } from "../backend.ts";
import { ortBackend } from "../ort_adapter.ts";

/** Options for {@linkcode createNodeBackend}. */
export interface NodeBackendOptions {
  /** Threads for one operator; onnxruntime's default (all cores) when left out. */
  threads?: number;
}

/**
 * Creates the onnxruntime-node CPU backend.
 *
 * @example
 * ```ts
 * import { createBackend } from "@editmgt/editmgt/model";
 *
 * const backend = await createBackend("node", { threads: 2 });
 * console.log(backend.device); // "node"
 * ```
 */
export function createNodeBackend(options: NodeBackendOptions = {}): Backend {
  return ortBackend(ort, {
    device: "node",
    executionProviders: ["cpu"],
    capabilities: { fp16: true },
    loadSession: async (graph, sessionOptions) => {
      // onnxruntime-node fuses an int8 weight's DequantizeLinear -> MatMul into MatMulNBits at
      // accuracy level 4, which also quantizes the activations (max error 0.17 against 1.3e-5 on
      // bench/variants' check graph); level 1 keeps them float, as the WASM and WebGPU builds do.
      const floatActivations = {
        ...sessionOptions,
        extra: { session: { qdq_matmulnbits_accuracy_level: "1" } },
      };
      const withThreads = options.threads === undefined
        ? floatActivations
        : { ...floatActivations, intraOpNumThreads: options.threads, interOpNumThreads: 1 };
      if (graph.externalData.length === 0) {
        return await ort.InferenceSession.create(graph.model, withThreads);
      }
      return await withGraphOnDisk(graph, (path) => ort.InferenceSession.create(path, withThreads));
    },
  });
}

/**
 * onnxruntime-node reads external data only from files beside the graph, so a graph that has
 * some is written to a temporary folder for the time it takes to create the session.
 */
async function withGraphOnDisk<T>(
  graph: GraphBytes,
  use: (path: string) => Promise<T>,
): Promise<T> {
  const folder = await mkdtemp(join(tmpdir(), "editmgt-graph-"));
  try {
    const modelPath = join(folder, "model.onnx");
    await writeFile(modelPath, graph.model);
    for (const file of graph.externalData) {
      const path = join(folder, file.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.data);
    }
    return await use(modelPath);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
