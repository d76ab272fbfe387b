/**
 * Picks a backend by device name. Each adapter is imported only when it is asked for, so a
 * server that never uses WebGPU never loads the WebGPU build, and a browser bundle never contains
 * onnxruntime-node (bundlers split the WASM and WebGPU adapters into their own chunks).
 *
 * @module
 */

import type { Backend, DeviceName } from "./backend.ts";
import type { NodeBackendOptions } from "./backends/node.ts";
import type { WasmBackendOptions } from "./backends/wasm.ts";
import type { WebGpuBackendOptions } from "./backends/webgpu.ts";

/**
 * The onnxruntime-node adapter, imported through a computed specifier so that bundlers do not
 * follow it: the native addon cannot be bundled for a browser, and a browser never asks for it.
 */
const NODE_ADAPTER = new URL("./backends/node.ts", import.meta.url).href;

/** Options for {@linkcode createBackend}; each applies only to the devices it names. */
export interface BackendOptions
  extends NodeBackendOptions, WasmBackendOptions, WebGpuBackendOptions {}

/**
 * Creates the backend for `device`.
 *
 * @example
 * ```ts
 * import { createBackend } from "@editmgt/editmgt/model";
 *
 * const backend = await createBackend("node", { threads: 2 });
 * ```
 */
export async function createBackend(
  device: DeviceName,
  options: BackendOptions = {},
): Promise<Backend> {
  switch (device) {
    case "node": {
      const adapter: typeof import("./backends/node.ts") = await import(NODE_ADAPTER);
      return adapter.createNodeBackend(options);
    }
    case "wasm":
      return (await import("./backends/wasm.ts")).createWasmBackend(options);
    case "webgpu":
      return await (await import("./backends/webgpu.ts")).createWebGpuBackend(options);
  }
}
