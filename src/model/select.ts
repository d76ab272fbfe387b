/**
 * Picks a backend by device name. Each adapter is imported only when it is asked for, so a
 * browser bundle never loads onnxruntime-node and a server that never uses WebGPU never loads
 * the WebGPU build.
 *
 * @module
 */

import type { Backend, DeviceName } from "./backend.ts";
import type { NodeBackendOptions } from "./backends/node.ts";
import type { WasmBackendOptions } from "./backends/wasm.ts";
import type { WebGpuBackendOptions } from "./backends/webgpu.ts";

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
    case "node":
      return (await import("./backends/node.ts")).createNodeBackend(options);
    case "wasm":
      return (await import("./backends/wasm.ts")).createWasmBackend(options);
    case "webgpu":
      return await (await import("./backends/webgpu.ts")).createWebGpuBackend(options);
  }
}
