/**
 * The engine's core: one interface for running edits, whether the pipeline lives in a Worker
 * (the default: `session.run` never blocks the caller's thread) or in the caller's thread. It
 * knows no runtime: {@linkcode createEngineWith} takes what differs (how the default worker is
 * started, where files come from, which backends exist) from the Deno entry (`deno.ts`) or the
 * browser SDK, so that no browser bundle holds a Deno-only module.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { DeviceName } from "../model/backend.ts";
import { manifestUrl } from "../model/manifest.ts";
import { modelBase } from "../model/package.ts";
import type { BackendFactory, BackendOptions } from "../model/select.ts";
import type { FileSource } from "../model/source.ts";
import type { MemoryRequest } from "../model/memory.ts";
import type { DtypeRequest } from "../model/variants.ts";
import type {
  EditCallOptions,
  EditInput,
  EditLocalization,
  EditProgress,
  EditResult,
} from "../pipeline/types.ts";
import type { EngineRequest, EngineResponse, InitMessage } from "./protocol.ts";

/** Options for {@linkcode createEngine}. */
export interface EngineOptions {
  /** The model: its folder or manifest.json, as a path (relative to the page or cwd) or URL. */
  manifest: string | URL;
  /** Where the model runs. */
  device: DeviceName;
  /**
   * Host the pipeline in a Worker (default true: the runtime's own engine worker); false runs it
   * in the caller's thread. A `Worker` you made (a module worker whose script answers the
   * engine's messages with `createPipelineHost`, e.g. one your bundler built) is used as it is
   * and ended by `dispose`.
   */
  worker?: boolean | Worker;
  /** The browser model store the worker reads files from (see `InitMessage.store`). */
  store?: InitMessage["store"];
  /** Options of the backend (threads, WASM paths). */
  backend?: BackendOptions;
  /**
   * Which weights to load (see `EditPipelineLoadOptions.dtype`); default `"auto"`. The `ready`
   * event says which weight type each component runs with.
   */
  dtype?: DtypeRequest;
  /**
   * Keep every session alive, or load each graph for its phase and release it after (see
   * `EditPipelineLoadOptions.memory`); default `"auto"`: release for models over 2 GiB.
   */
  memory?: MemoryRequest;
  /** Progress of loading the model: `download` events, then `ready`. */
  onProgress?: (event: EditProgress) => void;
}

/** A model loaded on a device, ready to make edits (the Engine contract). */
export interface Engine {
  /** Resolves once the model is loaded; rejects with the load error. */
  readonly ready: Promise<void>;
  /** Makes an edit (see `EditPipeline.edit`). Calls are served one at a time, in order. */
  edit(input: EditInput, call?: EditCallOptions): Promise<EditResult>;
  /** Runs the first step only and returns the localization map (see `EditPipeline.previewRegion`). */
  previewRegion(input: EditInput, call?: EditCallOptions): Promise<EditLocalization>;
  /** Releases every session (and ends the worker). Later calls reject. */
  dispose(): Promise<void>;
}

/** What differs between runtimes, for {@linkcode createEngineWith}. */
export interface EnginePlatform {
  /** Starts the runtime's engine worker, used when `worker` is true or left out. */
  startWorker?: () => Worker;
  /** How the in-thread pipeline reads files; default `fetch`. */
  source?: FileSource;
  /** How the in-thread pipeline creates its backend; default WASM and WebGPU only. */
  createBackend?: BackendFactory;
}

/** How long `dispose` waits for the worker to release its sessions before ending it. */
const DISPOSE_TIMEOUT_MS = 10_000;

/**
 * Loads a model and returns an {@linkcode Engine}, on the runtime `platform` describes. Loading
 * starts at once; calls made before it finishes wait for it. Deno code calls `createEngine` of
 * `@editmgt/editmgt/engine`, which passes the Deno platform; the browser SDK passes its own
 * worker.
 *
 * @example
 * ```ts
 * import { createEngineWith } from "@editmgt/editmgt/engine";
 *
 * const worker = new Worker(new URL("./my-engine-worker.js", import.meta.url), { type: "module" });
 * const engine = createEngineWith({}, { manifest: "/models/editmgt-tiny/", device: "wasm", worker });
 * await engine.ready;
 * ```
 */
export function createEngineWith(platform: EnginePlatform, options: EngineOptions): Engine {
  const manifest = manifestUrl(options.manifest, modelBase());
  if (options.worker === false) return inThreadEngine(platform, options, manifest);
  if (options.worker === undefined || options.worker === true) {
    if (platform.startWorker === undefined) {
      throw new EditMGTError(
        "invalid_option",
        "this runtime has no default engine worker: pass a Worker as `worker`, or `worker: false`",
      );
    }
    return workerEngine(platform.startWorker(), options, manifest);
  }
  return workerEngine(options.worker, options, manifest);
}

function inThreadEngine(platform: EnginePlatform, options: EngineOptions, manifest: URL): Engine {
  // Imported here, so that a page using the Worker does not bundle the pipeline itself.
  const loading = (async () => {
    const { EditPipeline } = await import("../pipeline/pipeline.ts");
    return await EditPipeline.load(manifest, {
      source: platform.source,
      createBackend: platform.createBackend,
      base: manifest,
      device: options.device,
      backendOptions: options.backend,
      dtype: options.dtype,
      memory: options.memory,
      onProgress: options.onProgress,
    });
  })();
  const ready = loading.then(() => {});
  ready.catch(() => {});
  let disposed = false;
  const pipeline = async () => {
    if (disposed) throw disposedError();
    return await loading;
  };
  return {
    ready,
    edit: async (input, call) => await (await pipeline()).edit(input, call),
    previewRegion: async (input, call) => await (await pipeline()).previewRegion(input, call),
    async dispose() {
      disposed = true;
      await (await loading.catch(() => null))?.dispose();
    },
  };
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: EditMGTError): void;
  onProgress?: (event: EditProgress) => void;
}

function workerEngine(worker: Worker, options: EngineOptions, manifest: URL): Engine {
  const pending = new Map<number, PendingCall>();
  let nextJob = 1;
  let failure: EditMGTError | null = null;
  let disposing: Promise<void> | null = null;
  let onDisposed = () => {};
  let onReady = () => {};
  let onLoadError = (_error: EditMGTError) => {};
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onLoadError = reject;
  });
  ready.catch(() => {});

  const send = (message: EngineRequest) => worker.postMessage(message);
  const settle = (job: number, outcome: { value: unknown } | { error: EditMGTError }) => {
    const call = pending.get(job);
    if (call === undefined) return;
    pending.delete(job);
    if ("error" in outcome) call.reject(outcome.error);
    else call.resolve(outcome.value);
  };
  const fail = (error: EditMGTError) => {
    failure ??= error;
    onLoadError(error);
    for (const job of [...pending.keys()]) settle(job, { error });
  };

  worker.onmessage = (event: MessageEvent<EngineResponse>) => {
    const message = event.data;
    switch (message.type) {
      case "progress":
        if (message.job === 0) options.onProgress?.(message.event);
        else pending.get(message.job)?.onProgress?.(message.event);
        break;
      case "ready":
        onReady();
        break;
      case "edit-result":
        settle(message.job, { value: message.result });
        break;
      case "preview-region-result":
        settle(message.job, { value: message.localization });
        break;
      case "error":
        if (message.job === 0) onLoadError(EditMGTError.fromJSON(message.error));
        else settle(message.job, { error: EditMGTError.fromJSON(message.error) });
        break;
      case "disposed":
        onDisposed();
        break;
    }
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    fail(workerError(event));
  };
  worker.onmessageerror = () => {
    fail(new EditMGTError("internal", "the engine worker sent a message that could not be read"));
  };
  send({
    type: "init",
    manifest: manifest.href,
    device: options.device,
    backend: options.backend,
    dtype: options.dtype,
    memory: options.memory,
    store: options.store,
  });

  const call = <T>(
    type: "edit" | "preview-region",
    input: EditInput,
    { signal, onProgress }: EditCallOptions = {},
  ): Promise<T> => {
    if (disposing !== null) return Promise.reject(disposedError());
    if (failure !== null) return Promise.reject(failure);
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    const job = nextJob++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        send({ type: "cancel", job });
        settle(job, { error: abortedError(signal!) });
      };
      pending.set(job, {
        resolve: (value) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(value as T);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
        onProgress,
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        send({ type, job, input });
      } catch (cause) {
        settle(job, {
          error: new EditMGTError(
            "invalid_input",
            `the edit request cannot be sent to the worker: ${cause}`,
            { cause },
          ),
        });
      }
    });
  };

  return {
    ready,
    edit: (input, callOptions) => call<EditResult>("edit", input, callOptions),
    previewRegion: (input, callOptions) =>
      call<EditLocalization>("preview-region", input, callOptions),
    dispose() {
      disposing ??= (async () => {
        const released = new Promise<void>((resolve) => (onDisposed = resolve));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, DISPOSE_TIMEOUT_MS);
        });
        if (failure === null) {
          send({ type: "dispose" });
          await Promise.race([released, timeout]);
        }
        clearTimeout(timer);
        worker.terminate();
        fail(disposedError());
      })();
      return disposing;
    },
  };
}

/**
 * The error of a worker's `error` event. A worker whose script never ran (answered with an HTML
 * page, a 404, a blocked import) gets an event without a message; say what that usually means.
 */
function workerError(event: ErrorEvent): EditMGTError {
  if (event.message) {
    return new EditMGTError("worker_failed", `the engine worker crashed: ${event.message}`, {
      details: { filename: event.filename, line: event.lineno },
    });
  }
  return new EditMGTError(
    "worker_failed",
    "the engine worker failed to start: its script (or a module it imports) did not load as " +
      "JavaScript. Check in the network panel that the worker's URL is served as JavaScript " +
      "(a server that answers unknown paths with index.html breaks it), or pass a Worker you " +
      "made as the `worker` option",
  );
}

function disposedError(): EditMGTError {
  return new EditMGTError("internal", "the engine was disposed; create a new one");
}

function abortedError(signal: AbortSignal): EditMGTError {
  return new EditMGTError("aborted", "the edit was cancelled", { cause: signal.reason });
}
