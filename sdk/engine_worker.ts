/**
 * The SDK's engine worker, for a Worker you make yourself (as WebLLM's
 * `CreateWebWorkerMLCEngine` takes one): a module worker whose script calls
 * {@linkcode serveEditorWorker} hosts the pipeline that `createEditor({ worker })` talks to. It
 * reads model files from the SDK's store that the editor names (OPFS or Cache Storage), or from
 * the network when there is none. The SDK's default worker, `worker.js`, is this and nothing more.
 *
 * @example
 * ```ts
 * // editor-worker.ts, built by your bundler as a module worker:
 * import { serveEditorWorker } from "@editmgt/editmgt/sdk/worker";
 *
 * serveEditorWorker();
 * ```
 *
 * @module
 */

import { createPipelineHost } from "../src/engine/host.ts";
import type { EngineRequest } from "../src/engine/protocol.ts";
import { cachedSource } from "./source.ts";
import type { StorageKind } from "./store.ts";

/** The parts of a worker's global scope this module uses. */
export interface EditorWorkerScope {
  /** Sends a message to the page. */
  postMessage(message: unknown, transfer: Transferable[]): void;
  /** Receives the page's messages (the engine's requests). */
  onmessage: ((event: MessageEvent) => void) | null;
}

/**
 * Answers the editor's messages in this worker: call it once, at the top of the worker's module.
 *
 * @param scope The worker's global scope (default `globalThis`).
 *
 * @example
 * ```ts
 * import { serveEditorWorker } from "@editmgt/editmgt/sdk/worker";
 *
 * serveEditorWorker();
 * ```
 */
export function serveEditorWorker(
  scope: EditorWorkerScope = globalThis as unknown as EditorWorkerScope,
): void {
  const handle = createPipelineHost(
    { postMessage: (message, transfer) => scope.postMessage(message, transfer) },
    {
      sourceFor: ({ store }) =>
        store === undefined ? undefined : cachedSource(store.name, store.kind as StorageKind),
    },
  );
  scope.onmessage = (event) => handle(event.data as EngineRequest);
}
