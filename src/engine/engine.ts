/**
 * `createEngine`: one interface for running edits, whether the pipeline lives in a Worker (the
 * default: `session.run` never blocks the caller's thread) or in the caller's thread. The CLI,
 * the server and the browser SDK all use it.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { DeviceName } from "../model/backend.ts";
import { manifestUrl } from "../model/manifest.ts";
import type { BackendOptions } from "../model/select.ts";
import type { MemoryRequest } from "../model/memory.ts";
import type { DtypeRequest } from "../model/variants.ts";
import type {
  EditCallOptions,
  EditInput,
  EditLocalization,
  EditProgress,
  EditResult,
} from "../pipeline/types.ts";
import { localModelOptions, modelBase } from "./local.ts";
import type { EngineRequest, EngineResponse } from "./protocol.ts";

/** Options for {@linkcode createEngine}. */
export interface EngineOptions {
  /** The model: its folder or manifest.json, as a path (relative to the page or cwd) or URL. */
  manifest: string | URL;
  /** Where the model runs. */
  device: DeviceName;
  /** Host the pipeline in a Worker (default true); false runs it in the caller's thread. */
  worker?: boolean;
  /** The worker module, where a bundler serves it elsewhere; default `./worker.ts` beside this. */
  workerUrl?: string | URL;
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

/**
 * The platform's Worker, kept at load time: onnxruntime-web's WASM runtime, once it has made a
 * session, replaces `globalThis.Worker` in Deno with a `node:worker_threads` class (whose workers
 * have no `self`), which cannot host the engine's module worker.
 */
const PlatformWorker: typeof Worker = globalThis.Worker;

/** How long `dispose` waits for the worker to release its sessions before ending it. */
const DISPOSE_TIMEOUT_MS = 10_000;

/**
 * Loads a model and returns an {@linkcode Engine}. Loading starts at once; calls made before it
 * finishes wait for it.
 *
 * @example
 * ```ts
 * import { createEngine } from "@editmgt/editmgt/engine";
 * import { decodeImage } from "@editmgt/editmgt/image";
 *
 * const engine = createEngine({ manifest: "models/editmgt-tiny", device: "node" });
 * await engine.ready;
 * const image = await decodeImage(await Deno.readFile("in.png"));
 * const controller = new AbortController();
 * const result = await engine.edit(
 *   { image, instruction: "make the red circle blue", options: { seed: 1 } },
 *   { signal: controller.signal, onProgress: (event) => console.log(event.type) },
 * );
 * console.log(result.seed, result.timings.totalMs);
 * await engine.dispose();
 * ```
 */
export function createEngine(options: EngineOptions): Engine {
  const manifest = manifestUrl(options.manifest, modelBase());
  return options.worker === false
    ? inThreadEngine(options, manifest)
    : workerEngine(options, manifest);
}

function inThreadEngine(options: EngineOptions, manifest: URL): Engine {
  // Imported here, so that a page using the Worker does not bundle the pipeline itself.
  const loading = (async () => {
    const [{ EditPipeline }, local] = await Promise.all([
      import("../pipeline/pipeline.ts"),
      localModelOptions(manifest),
    ]);
    return await EditPipeline.load(manifest, {
      ...local,
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

function workerEngine(options: EngineOptions, manifest: URL): Engine {
  const worker = new PlatformWorker(
    options.workerUrl ?? new URL("./worker.ts", import.meta.url),
    { type: "module" },
  );
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
    fail(new EditMGTError("internal", `the engine worker crashed: ${event.message}`));
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

function disposedError(): EditMGTError {
  return new EditMGTError("internal", "the engine was disposed; create a new one");
}

function abortedError(signal: AbortSignal): EditMGTError {
  return new EditMGTError("aborted", "the edit was cancelled", { cause: signal.reason });
}
