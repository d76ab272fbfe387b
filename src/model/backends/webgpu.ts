/**
 * onnxruntime-web's WebGPU build: the fast browser backend, and a server backend where Deno has
 * a GPU adapter (`navigator.gpu`). Tested here on Mesa lavapipe (`mesa-vulkan-drivers`, adapter
 * "llvmpipe"; Deno needs `XDG_RUNTIME_DIR` set).
 *
 * fp16: graphs whose weights are float16 need the adapter feature `shader-f16`; onnxruntime-web
 * fails at session creation or run without it. {@linkcode createWebGpuBackend} reads the
 * feature into `capabilities.fp16`, and `loadModelComponents` refuses fp16 components on an
 * adapter without it before any session is made, with a `backend_unavailable` error that says
 * to use an fp32 model or another device. lavapipe has `shader-f16`; Chromium's SwiftShader
 * adapter does not. With it, WebGPU computes in half precision where onnxruntime's CPU kernels
 * upcast: on the fp16 tiny-random step graph, lavapipe's ref log-probs are within 1.6e-2 of the
 * fp32 graph on onnxruntime-node (the fp16 graph on node: 4.9e-3) and 96% of the sampled ids are
 * equal (node: 99%); the fp32 graph on WebGPU matches node to 3.4e-6 with every id equal.
 *
 * @module
 */

import * as ort from "onnxruntime-web/webgpu";
import { EditMGTError } from "../../errors/mod.ts";
import type { Backend } from "../backend.ts";
import { ortBackend } from "../ort_adapter.ts";

/** Options for {@linkcode createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /** The adapter to use; by default one is requested from `navigator.gpu`. */
  adapter?: GPUAdapter;
  /** Passed to `requestAdapter` when no adapter is given. */
  powerPreference?: GPUPowerPreference;
}

/**
 * Creates the onnxruntime-web WebGPU backend. Rejects with `backend_unavailable` when the
 * runtime has no WebGPU or no adapter.
 *
 * @example
 * ```ts
 * import { createBackend } from "@editmgt/editmgt/model";
 *
 * const backend = await createBackend("webgpu");
 * console.log(backend.capabilities.fp16); // true where the adapter has shader-f16
 * ```
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<Backend> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) {
    throw new EditMGTError(
      "backend_unavailable",
      "WebGPU is not available here (no navigator.gpu); use the wasm or node device",
      { details: { device: "webgpu" } },
    );
  }
  const adapter = options.adapter ??
    await gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (adapter === null) {
    throw new EditMGTError(
      "backend_unavailable",
      "navigator.gpu has no adapter (on Linux servers install a Vulkan driver, e.g. mesa-vulkan-drivers); use the wasm or node device",
      { details: { device: "webgpu" } },
    );
  }
  ort.env.webgpu.adapter = adapter;
  ort.env.wasm.numThreads = 1;
  return ortBackend(ort, {
    device: "webgpu",
    executionProviders: ["webgpu"],
    capabilities: { fp16: adapter.features.has("shader-f16") },
  });
}
