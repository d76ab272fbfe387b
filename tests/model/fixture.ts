/**
 * Shared by the model tests: the `model-basic` package (tests/fixtures/model-basic, written by
 * its generate.py), its numpy goldens as graph tensors, and temporary copies to corrupt.
 */

import type {
  Backend,
  BackendCapabilities,
  ModelTensor,
  NamedTensors,
} from "../../src/model/backend.ts";
import type { ManifestComponent } from "../../src/schema/manifest.ts";

/** The model-basic package folder. */
export const MODEL_BASIC = new URL("../fixtures/model-basic/", import.meta.url);

/** Graph files of model-basic, by component name. */
export const GRAPH_FILES: Record<string, string[]> = {
  text_encoder: ["text_encoder.onnx"],
  vq_encoder: ["vq_encoder.onnx"],
  vq_decoder: ["vq_decoder.onnx"],
  transformer: ["transformer.onnx", "transformer.onnx.data"],
};

interface GoldenTensor {
  dtype: "float32" | "int64";
  dims: number[];
  data: number[];
}

/** Inputs and expected outputs of one graph, computed with numpy by generate.py. */
export interface GraphGolden {
  inputs: NamedTensors;
  outputs: NamedTensors;
}

/** The goldens of every graph of model-basic. */
export async function loadGoldens(): Promise<Record<string, GraphGolden>> {
  const json: Record<
    string,
    { inputs: Record<string, GoldenTensor>; outputs: Record<string, GoldenTensor> }
  > = JSON.parse(await Deno.readTextFile(new URL("goldens.json", MODEL_BASIC)));
  const tensors = (named: Record<string, GoldenTensor>): NamedTensors =>
    Object.fromEntries(Object.entries(named).map(([name, golden]) => [name, toTensor(golden)]));
  return Object.fromEntries(
    Object.entries(json).map((
      [graph, { inputs, outputs }],
    ) => [graph, { inputs: tensors(inputs), outputs: tensors(outputs) }]),
  );
}

function toTensor(golden: GoldenTensor): ModelTensor {
  return golden.dtype === "int64"
    ? { type: "int64", data: BigInt64Array.from(golden.data, BigInt), dims: golden.dims }
    : { type: "float32", data: Float32Array.from(golden.data), dims: golden.dims };
}

/** Copies model-basic into a new temporary folder and returns the folder's path. */
export async function copyModelBasic(): Promise<string> {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-model-basic-" });
  for await (const entry of Deno.readDir(MODEL_BASIC)) {
    if (entry.isFile) {
      await Deno.copyFile(new URL(entry.name, MODEL_BASIC), `${folder}/${entry.name}`);
    }
  }
  return folder;
}

/** Largest absolute difference between two tensors' elements (Infinity when shapes differ). */
export function maxAbsDifference(actual: ModelTensor, expected: ModelTensor): number {
  if (actual.data.length !== expected.data.length) return Infinity;
  let max = 0;
  for (let i = 0; i < actual.data.length; i++) {
    max = Math.max(max, Math.abs(Number(actual.data[i]) - Number(expected.data[i])));
  }
  return max;
}

/** Rewrites `manifest.json` in `folder` with `edit`. */
export async function editManifest(
  folder: string,
  edit: (manifest: Record<string, unknown> & { components: ManifestComponent[] }) => void,
): Promise<void> {
  const path = `${folder}/manifest.json`;
  const manifest = JSON.parse(await Deno.readTextFile(path));
  edit(manifest);
  await Deno.writeTextFile(path, JSON.stringify(manifest, null, 2));
}

/** A backend that counts the sessions made and released through it. */
export interface SpyBackend extends Backend {
  /** Sessions created so far. */
  created: number;
  /** Sessions released so far. */
  released: number;
}

/** Wraps `inner`, counting sessions; `capabilities` overrides the inner backend's. */
export function spyBackend(inner: Backend, capabilities?: BackendCapabilities): SpyBackend {
  const spy: SpyBackend = {
    device: inner.device,
    capabilities: capabilities ?? inner.capabilities,
    created: 0,
    released: 0,
    async createSession(graph) {
      const session = await inner.createSession(graph);
      spy.created++;
      return {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        run: (feeds) => session.run(feeds),
        async release() {
          spy.released++;
          await session.release();
        },
      };
    },
  };
  return spy;
}
