/**
 * Picks a backend by device name, for every runtime: onnxruntime-web's WASM and WebGPU builds,
 * each imported only when asked for (bundlers split them into their own chunks). The native
 * `"node"` device is not here, so that no browser bundle ever meets onnxruntime-node: Deno and
 * Node.js code creates it with `createBackend` from `@editmgt/editmgt/model/deno`.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { Backend, DeviceName } from "./backend.ts";
import type { NodeBackendOptions } from "./backends/node.ts";
import type { WasmBackendOptions } from "./backends/wasm.ts";
import type { WebGpuBackendOptions } from "./backends/webgpu.ts";

/** Options for {@linkcode createBackend}; each applies only to the devices it names. */
export interface BackendOptions
  extends NodeBackendOptions, WasmBackendOptions, WebGpuBackendOptions {}

/** Creates a backend for a device: {@linkcode createBackend}, or the Deno one with `"node"`. */
export type BackendFactory = (device: DeviceName, options?: BackendOptions) => Promise<Backend>;

/**
 * Creates the backend for `device` (`"wasm"` or `"webgpu"`). Rejects with
 * `backend_unavailable` for `"node"`, which only the Deno entry creates.
 *
 * @example
 * ```ts
 * import { createBackend } from "@editmgt/editmgt/model";
 *
 * const backend = await createBackend("wasm", { threads: 1 });
 * ```
 */
export async function createBackend(
  device: DeviceName,
  options: BackendOptions = {},
): Promise<Backend> {
  switch (device) {
    case "wasm":
      return (await import("./backends/wasm.ts")).createWasmBackend(options);
    case "webgpu":
      return await (await import("./backends/webgpu.ts")).createWebGpuBackend(options);
    case "node":
      throw new EditMGTError(
        "backend_unavailable",
        'the "node" device (onnxruntime-node) runs only in Deno or Node.js: create it with ' +
          'createBackend from "@editmgt/editmgt/model/deno" and pass it as `backend`, or use ' +
          'the "wasm" or "webgpu" device',
        { details: { device } },
      );
  }
}
