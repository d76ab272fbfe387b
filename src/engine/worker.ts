/**
 * The engine's worker module (Deno Worker or browser Web Worker, `type: "module"`): hosts one
 * pipeline and answers the engine's messages. Created by `createEngine`; not imported directly.
 *
 * @module
 */

import { createPipelineHost } from "./host.ts";
import type { EngineRequest, EngineResponse } from "./protocol.ts";

/** The parts of a worker's global scope this module uses (Deno and browsers alike). */
interface WorkerScope {
  postMessage(message: EngineResponse, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<EngineRequest>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const handle = createPipelineHost({
  postMessage: (message, transfer) => scope.postMessage(message, transfer),
});
scope.onmessage = (event) => handle(event.data);
