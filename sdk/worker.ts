/**
 * The SDK's engine worker: the engine's pipeline host, reading model files from the SDK's
 * storage named by this module's URL (`worker.js?cache=NAME&storage=opfs|cache`), or from the
 * network when there is none. Started by `createEditor`; not imported directly.
 *
 * @module
 */

import { createPipelineHost } from "../src/engine/host.ts";
import type { EngineRequest, EngineResponse } from "../src/engine/protocol.ts";
import { cachedSource } from "./source.ts";
import type { StorageKind } from "./store.ts";

/** The parts of a worker's global scope this module uses. */
interface WorkerScope {
  location: { href: string };
  postMessage(message: EngineResponse, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<EngineRequest>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const parameters = new URL(scope.location.href).searchParams;
const cacheName = parameters.get("cache");
const kind = (parameters.get("storage") ?? undefined) as StorageKind | undefined;
const handle = createPipelineHost(
  { postMessage: (message, transfer) => scope.postMessage(message, transfer) },
  cacheName === null ? {} : { source: cachedSource(cacheName, kind) },
);
scope.onmessage = (event) => handle(event.data);
