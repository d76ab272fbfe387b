/**
 * The worker side of the engine: owns one {@linkcode EditPipeline}, answers the messages of
 * `protocol.ts`, runs calls one at a time (the pipeline queues them) and aborts the one a
 * `cancel` names. It talks through anything with `postMessage` (a Worker's global scope or a
 * `MessagePort`), so it is tested without a Worker.
 *
 * @module
 */

import { EditPipeline } from "../pipeline/pipeline.ts";
import type { EditProgress } from "../pipeline/types.ts";
import type { BackendFactory } from "../model/select.ts";
import type { FileSource } from "../model/source.ts";
import {
  type EngineRequest,
  type EngineResponse,
  errorBody,
  type InitMessage,
  progressTransferables,
  resultTransferables,
} from "./protocol.ts";

/** Where the host sends its answers. */
export interface HostPort {
  /** Sends one message, transferring `transfer`. */
  postMessage(message: EngineResponse, transfer: Transferable[]): void;
}

/** Options of {@linkcode createPipelineHost}. */
export interface PipelineHostOptions {
  /** Where model files come from; default `fetch`. */
  source?: FileSource;
  /**
   * Chooses the source for an `init` message (e.g. the SDK's store that `init.store` names);
   * when it answers undefined, {@linkcode PipelineHostOptions.source} is used.
   */
  sourceFor?: (init: InitMessage) => FileSource | undefined;
  /**
   * Creates the backend for the device `init` names; default `createBackend` of
   * `@editmgt/editmgt/model` (WASM, WebGPU). The Deno worker passes the one that knows `"node"`.
   */
  createBackend?: BackendFactory;
}

/** Handles one incoming message. */
export type RequestHandler = (request: EngineRequest) => void;

/**
 * Creates the message handler of a pipeline host that answers on `port`.
 *
 * @example
 * ```ts
 * import { createPipelineHost } from "@editmgt/editmgt/engine";
 *
 * // Inside a worker module, whose global scope posts and receives messages as a MessagePort does:
 * const scope = globalThis as unknown as MessagePort;
 * const handle = createPipelineHost({
 *   postMessage: (message, transfer) => scope.postMessage(message, transfer),
 * });
 * scope.onmessage = (event) => handle(event.data);
 * ```
 */
export function createPipelineHost(
  port: HostPort,
  options: PipelineHostOptions = {},
): RequestHandler {
  let pipeline: Promise<EditPipeline> | null = null;
  const running = new Map<number, AbortController>();
  const post = (message: EngineResponse, transfer: Transferable[] = []) =>
    port.postMessage(message, transfer);
  const progress = (job: number) => (event: EditProgress) =>
    post({ type: "progress", job, event }, progressTransferables(event));

  const call = async <T>(
    job: number,
    work: (pipeline: EditPipeline, signal: AbortSignal) => Promise<T>,
    answer: (result: T) => void,
  ) => {
    const controller = new AbortController();
    running.set(job, controller);
    try {
      if (pipeline === null) throw new Error("the engine got a call before init");
      answer(await work(await pipeline, controller.signal));
    } catch (error) {
      post({ type: "error", job, error: errorBody(error) });
    } finally {
      running.delete(job);
    }
  };

  /** Cancels the load under way, when a `dispose` comes before it finished. */
  let loading = new AbortController();
  const init = (message: InitMessage) => {
    loading = new AbortController();
    pipeline = loadPipeline(message, options, progress(0), loading.signal);
    pipeline.then(
      (loaded) => post({ type: "ready", device: loaded.device, dtypes: { ...loaded.dtypes } }),
      (error) => post({ type: "error", job: 0, error: errorBody(error) }),
    );
  };

  return (request: EngineRequest) => {
    switch (request.type) {
      case "init":
        init(request);
        break;
      case "edit":
        call(
          request.job,
          (loaded, signal) =>
            loaded.edit(request.input, { signal, onProgress: progress(request.job) }),
          (result) =>
            post({ type: "edit-result", job: request.job, result }, resultTransferables(result)),
        );
        break;
      case "preview-region":
        call(
          request.job,
          (loaded, signal) => loaded.previewRegion(request.input, { signal }),
          (localization) =>
            post({ type: "preview-region-result", job: request.job, localization }, [
              localization.data.buffer as ArrayBuffer,
            ]),
        );
        break;
      case "cancel":
        running.get(request.job)?.abort(new DOMException("cancelled", "AbortError"));
        break;
      case "dispose":
        loading.abort(new DOMException("the engine unloads the model", "AbortError"));
        for (const controller of running.values()) controller.abort();
        (pipeline ?? Promise.reject(new Error("never loaded")))
          .then((loaded) => loaded.dispose())
          .catch(() => {})
          .finally(() => post({ type: "disposed" }));
        break;
    }
  };
}

async function loadPipeline(
  message: InitMessage,
  options: PipelineHostOptions,
  onProgress: (event: EditProgress) => void,
  signal: AbortSignal,
): Promise<EditPipeline> {
  const url = new URL(message.manifest);
  return await EditPipeline.load(url, {
    source: options.sourceFor?.(message) ?? options.source,
    createBackend: options.createBackend,
    base: url,
    device: message.device,
    backendOptions: message.backend,
    dtype: message.dtype,
    memory: message.memory,
    onProgress,
    signal,
  });
}
