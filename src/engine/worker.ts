/**
 * The engine's Deno worker module (`type: "module"`): hosts one pipeline, reading local model
 * folders from disk and creating the native `"node"` device, and answers the engine's messages.
 * Started by `createEngine` of `deno.ts`; not imported directly. (The browser SDK has its own
 * worker, `sdk/worker.js`.)
 *
 * @module
 */

import { createBackend, denoSource } from "../model/deno.ts";
import { createPipelineHost } from "./host.ts";
import type { EngineRequest, EngineResponse } from "./protocol.ts";

/** The parts of a worker's global scope this module uses (Deno and browsers alike). */
interface WorkerScope {
  postMessage(message: EngineResponse, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<EngineRequest>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;

// A worker loaded from a file: URL (Deno) has location.origin "null", and onnxruntime-web's
// WebGPU bundle resolves its own URL against location.origin when it loads, which then throws
// "Invalid URL ... with base 'null'". Without a location it resolves against its import.meta.url.
if (globalThis.location?.protocol === "file:") {
  Object.defineProperty(globalThis, "location", { value: undefined, configurable: true });
}
const handle = createPipelineHost({
  postMessage: (message, transfer) => scope.postMessage(message, transfer),
}, { source: denoSource, createBackend });
scope.onmessage = (event) => handle(event.data);
