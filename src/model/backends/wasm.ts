/**
 * onnxruntime-web on WebAssembly: runs everywhere, slowest. Used in browsers without WebGPU
 * and as the last resort on a server.
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import type { Backend } from "../backend.ts";
import { ortBackend } from "../ort_adapter.ts";

/** Options for {@linkcode createWasmBackend}. */
export interface WasmBackendOptions {
  /**
   * WASM threads. Threads need SharedArrayBuffer, which browsers give only to cross-origin
   * isolated pages, so the default is up to 4 threads when `crossOriginIsolated` is true and 1
   * otherwise. onnxruntime-web reads this once, when it creates its first session.
   */
  threads?: number;
  /**
   * Where the `ort-wasm-*.wasm`/`.mjs` files are served from (onnxruntime-web's
   * `env.wasm.wasmPaths`). Needed only where a bundler does not resolve them; in Deno the
   * package finds its files in node_modules.
   */
  wasmPaths?: ort.Env.WasmPrefixOrFilePaths;
}

/**
 * Creates the onnxruntime-web WASM backend.
 *
 * @example
 * ```ts
 * import { createBackend } from "@editmgt/editmgt/model";
 *
 * const backend = await createBackend("wasm", { threads: 1 });
 * console.log(backend.device); // "wasm"
 * ```
 */
export function createWasmBackend(options: WasmBackendOptions = {}): Backend {
  ort.env.wasm.numThreads = options.threads ?? defaultThreads();
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  return ortBackend(ort, {
    device: "wasm",
    executionProviders: ["wasm"],
    capabilities: { fp16: true },
  });
}

function defaultThreads(): number {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return isolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1)) : 1;
}
