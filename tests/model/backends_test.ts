import assert from "node:assert/strict";
import { createBackend } from "../../src/model/deno.ts";
import type { Backend, DeviceName, NamedTensors } from "../../src/model/backend.ts";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { parseManifest } from "../../src/model/manifest.ts";
import { float32Scalar, float32Tensor, int64Tensor } from "../../src/model/tensors.ts";
import { GRAPH_FILES, loadGoldens, maxAbsDifference, MODEL_BASIC } from "./fixture.ts";
import { ignoreWithout } from "../_shared/capability.ts";

const DEVICES: readonly DeviceName[] = ["node", "wasm", "webgpu"];
const TOLERANCE = 1e-5;
// onnxruntime keeps worker handles and GPU buffers alive between tests on purpose.
const sanitizers = { sanitizeOps: false, sanitizeResources: false };

async function runGraph(backend: Backend, graph: string, feeds: NamedTensors) {
  const [modelFile, ...dataFiles] = GRAPH_FILES[graph];
  const session = await backend.createSession({
    model: await Deno.readFile(new URL(modelFile, MODEL_BASIC)),
    externalData: await Promise.all(
      dataFiles.map(async (path) => ({
        path,
        data: await Deno.readFile(new URL(path, MODEL_BASIC)),
      })),
    ),
  });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const goldens = await loadGoldens();
const outputsByDevice = new Map<DeviceName, Promise<Record<string, NamedTensors>>>();

/** Every graph's outputs on `device` for the golden inputs; computed once per device. */
function outputsOn(device: DeviceName): Promise<Record<string, NamedTensors>> {
  if (!outputsByDevice.has(device)) {
    outputsByDevice.set(
      device,
      (async () => {
        const backend = await createBackend(device);
        assert.equal(backend.device, device);
        const outputs: Record<string, NamedTensors> = {};
        for (const [graph, golden] of Object.entries(goldens)) {
          outputs[graph] = await runGraph(backend, graph, golden.inputs);
        }
        return outputs;
      })(),
    );
  }
  return outputsByDevice.get(device)!;
}

for (const device of DEVICES) {
  Deno.test({
    name: `${device} backend runs every model-basic graph and matches the numpy goldens`,
    ...sanitizers,
    async fn() {
      const outputs = await outputsOn(device);
      for (const [graph, golden] of Object.entries(goldens)) {
        for (const [name, expected] of Object.entries(golden.outputs)) {
          const actual = outputs[graph][name];
          assert.equal(actual.type, expected.type, `${graph}.${name} type`);
          assert.deepEqual(actual.dims, expected.dims, `${graph}.${name} dims`);
          const difference = maxAbsDifference(actual, expected);
          if (expected.type === "int64") assert.equal(difference, 0, `${graph}.${name} ids`);
          else assert.ok(difference < TOLERANCE, `${graph}.${name} differs by ${difference}`);
        }
      }
    },
  });
}

Deno.test({
  name: "node, wasm and webgpu agree on every output of every graph",
  ...sanitizers,
  async fn() {
    const [first, ...others] = DEVICES;
    const reference = await outputsOn(first);
    for (const device of others) {
      const outputs = await outputsOn(device);
      for (const [graph, named] of Object.entries(reference)) {
        for (const [name, tensor] of Object.entries(named)) {
          const difference = maxAbsDifference(outputs[graph][name], tensor);
          assert.ok(
            difference <= (tensor.type === "int64" ? 0 : TOLERANCE),
            `${device} ${graph}.${name} differs from ${first} by ${difference}`,
          );
        }
      }
    }
  },
});

Deno.test({
  name: "webgpu backend runs on a real GPU adapter and reports shader-f16 as its fp16 capability",
  ...sanitizers,
  async fn() {
    const adapter = await navigator.gpu.requestAdapter();
    assert.ok(adapter, "no WebGPU adapter: install mesa-vulkan-drivers (lavapipe)");
    const backend = await createBackend("webgpu", { adapter });
    assert.equal(backend.capabilities.fp16, adapter.features.has("shader-f16"));
  },
});

for (const device of DEVICES) {
  Deno.test({
    name: `${device} backend refuses bytes that are not an ONNX graph with backend_unavailable`,
    ...sanitizers,
    async fn() {
      const backend = await createBackend(device);
      await assert.rejects(
        backend.createSession({ model: new TextEncoder().encode("not a graph"), externalData: [] }),
        (error) => isEditMGTError(error, "backend_unavailable") && error.details?.device === device,
      );
    },
  });
}

Deno.test({
  name: "a released session refuses to run",
  ...sanitizers,
  async fn() {
    const backend = await createBackend("node");
    const session = await backend.createSession({
      model: await Deno.readFile(new URL("vq_decoder.onnx", MODEL_BASIC)),
      externalData: [],
    });
    await session.release();
    await assert.rejects(
      session.run(goldens.vq_decoder.inputs),
      (error) => isEditMGTError(error, "internal"),
    );
  },
});

const gpuAdapter = await navigator.gpu.requestAdapter();
/** Why this machine's adapter cannot run fp16 graphs, or null when it can. */
const noShaderF16 = gpuAdapter === null
  ? "there is no WebGPU adapter"
  : gpuAdapter.features.has("shader-f16")
  ? null
  : `the WebGPU adapter (${gpuAdapter.info.description}) lacks shader-f16`;

Deno.test({
  name: "webgpu runs the fp16 tiny-random step graph (shader-f16) within fp16 tolerance of node",
  ignore: ignoreWithout(
    "the fp16 WebGPU test",
    noShaderF16,
    "use an adapter with shader-f16 (Mesa's Vulkan lavapipe: apt-get install mesa-vulkan-drivers)",
  ),
  ...sanitizers,
  async fn() {
    const fp16 = new URL("../fixtures/goldens/fp16/", import.meta.url);
    const tolerances = JSON.parse(await Deno.readTextFile(new URL("tolerances.json", fp16)));
    const model = await Deno.readFile(new URL("transformer.onnx", fp16));
    // The fp16 export of the tiny-random transformer: same graph contract and dimensions.
    const manifest = parseManifest(
      JSON.parse(
        await Deno.readTextFile(new URL("../fixtures/tiny-random/manifest.json", import.meta.url)),
      ),
    );
    const { vq, text } = manifest;
    const grid = [1, vq.grid.height, vq.grid.width];
    const n = vq.grid.height * vq.grid.width;
    const feeds: NamedTensors = {
      tokens: int64Tensor(
        Int32Array.from({ length: n }, (_, i) => i % 3 ? i % vq.codebookSize : vq.maskTokenId),
        grid,
      ),
      ref_tokens: int64Tensor(
        Int32Array.from({ length: n }, (_, i) => (i * 7) % vq.codebookSize),
        grid,
      ),
      context: float32Tensor(
        Float32Array.from({ length: 2 * text.length * text.contextDim }, (_, i) => Math.sin(i)),
        [2, text.length, text.contextDim],
      ),
      pooled: float32Tensor(
        Float32Array.from({ length: 2 * text.pooledDim }, (_, i) => Math.cos(i)),
        [2, text.pooledDim],
      ),
      micro_conds: float32Tensor(Float32Array.from(manifest.transformer.microConds), [5]),
      timestep: float32Tensor(new Float32Array([1 / 3]), [1]),
      log_gamma: float32Scalar(Math.log(1.1)),
      guidance_scale: float32Scalar(2),
      uniform: float32Tensor(Float32Array.from({ length: n }, (_, i) => (i * 0.618034) % 1), [
        1,
        n,
      ]),
    };
    const run = async (device: DeviceName) => {
      const backend = await createBackend(device);
      assert.ok(backend.capabilities.fp16, `${device} reports no fp16 support`);
      const session = await backend.createSession({ model, externalData: [] });
      try {
        return await session.run(feeds);
      } finally {
        await session.release();
      }
    };
    const cpu = await run("node");
    const gpu = await run("webgpu");
    const sampledCpu = cpu.sampled.data as BigInt64Array;
    const sampledGpu = gpu.sampled.data as BigInt64Array;
    const agreement = sampledGpu.filter((id, i) => id === sampledCpu[i]).length / n;
    assert.ok(agreement >= tolerances.sampled.min_agreement, `sampled ids agree on ${agreement}`);
    for (const name of ["ref_logprob", "text_attention"]) {
      const { atol, rtol } = tolerances[name];
      const expected = cpu[name].data as Float32Array;
      const actual = gpu[name].data as Float32Array;
      assert.equal(actual.length, expected.length);
      actual.forEach((value, i) => {
        assert.ok(
          Math.abs(value - expected[i]) <= atol + rtol * Math.abs(expected[i]),
          `${name}[${i}]: webgpu ${value}, node ${expected[i]}`,
        );
      });
    }
  },
});
