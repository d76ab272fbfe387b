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
import { manifestUrl } from "../model/location.ts";
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
import type { EditPipeline } from "../pipeline/pipeline.ts";
import type { EngineRequest, EngineResponse, InitMessage } from "./protocol.ts";

/** Options for {@linkcode createEngine}. */
export interface EngineOptions {
  /** The model: its folder or manifest.json, as a path (relative to the page or cwd) or URL. */
  manifest: string | URL;
  /** Where the model runs. */
  device: DeviceName;
  /**
   * Host the pipeline in a Worker (default true: the runtime's own engine worker, started again
   * by every load); false runs it in the caller's thread. A `Worker` you made (a module worker
   * whose script answers the engine's messages with `createPipelineHost`, e.g. one your bundler
   * built) is used as it is: `unload` releases its sessions but keeps it for the next load, and
   * `dispose` ends it.
   */
  worker?: boolean | Worker;
  /** The browser model store the worker reads files from (see `InitMessage.store`). */
  store?: InitMessage["store"];
  /**
   * How the in-thread pipeline (`worker: false`) reads model files; default the runtime's (in
   * Deno: disk for paths and `file:` URLs, else `fetch`; in a browser: `fetch`).
   */
  source?: FileSource;
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
  /**
   * Cancels this load (not the later ones): `ready` rejects with an `aborted` error and what was
   * loaded is released; the next call loads again.
   */
  signal?: AbortSignal;
  /** Progress of every load of the model: `download` events, then `ready`. */
  onProgress?: (event: EditProgress) => void;
}

/** What {@linkcode Engine.reload} may change; the rest stays as the engine was created. */
export type EngineReloadOptions = Partial<
  Pick<EngineOptions, "device" | "dtype" | "memory" | "backend" | "signal">
>;

/**
 * A model loaded on a device, ready to make edits: the one Engine contract of every device and
 * host (in the caller's thread, in a Worker, or, in the SDK, behind the remote edit API).
 */
export interface Engine {
  /**
   * Resolves once the latest load (at creation, by {@linkcode Engine.reload}, or by the first
   * call after {@linkcode Engine.unload}) finished; rejects with its error.
   */
  readonly ready: Promise<void>;
  /**
   * Makes an edit (see `EditPipeline.edit`). Calls are served one at a time, in order. After
   * `unload`, a call loads the model again first (with the latest options).
   */
  edit(input: EditInput, call?: EditCallOptions): Promise<EditResult>;
  /** Runs the first step only and returns the localization map (see `EditPipeline.previewRegion`). */
  previewRegion(input: EditInput, call?: EditCallOptions): Promise<EditLocalization>;
  /**
   * Frees the model's memory (its sessions, and the worker the engine started) and keeps the
   * engine: the next call, or {@linkcode Engine.reload}, loads the model again. Calls still
   * running reject with `aborted`.
   */
  unload(): Promise<void>;
  /**
   * Unloads and loads the model again, with `changes` (another device, weights, memory policy)
   * over the current options; resolves when it is ready, rejects with the load's error.
   */
  reload(changes?: EngineReloadOptions): Promise<void>;
  /** Unloads for good (and ends a worker you gave). Later calls reject. */
  dispose(): Promise<void>;
}

/** What differs between runtimes, for {@linkcode createEngineWith}. */
export interface EnginePlatform {
  /** Starts the runtime's engine worker, used when `worker` is true or left out. */
  startWorker?: () => Worker;
  /** The script `startWorker` starts, named in the error when it does not load. */
  workerUrl?: string | URL;
  /** How the in-thread pipeline reads files, unless `EngineOptions.source` says; default `fetch`. */
  source?: FileSource;
  /** How the in-thread pipeline creates its backend; default WASM and WebGPU only. */
  createBackend?: BackendFactory;
}

/** How long unloading waits for the worker to release its sessions before ending it. */
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
 * await engine.unload(); // frees the model's memory; the next edit loads it again
 * await engine.reload({ dtype: "fp32" });
 * ```
 */
export function createEngineWith(platform: EnginePlatform, options: EngineOptions): Engine {
  const manifest = manifestUrl(options.manifest);
  if (options.worker === false) {
    return reloadable(options, (settings) => inThreadLoad(platform, settings, manifest), () => {});
  }
  if (typeof options.worker === "object") {
    const worker = options.worker;
    return reloadable(
      options,
      (settings) => workerLoad(worker, settings, manifest, { owned: false }),
      () => worker.terminate(),
    );
  }
  const { startWorker } = platform;
  if (startWorker === undefined) {
    throw new EditMGTError(
      "invalid_option",
      "this runtime has no default engine worker: pass a Worker as `worker`, or `worker: false`",
    );
  }
  // The first load starts here, so that a refused worker script throws from this call.
  return reloadable(
    options,
    (settings) =>
      workerLoad(startWorker(), settings, manifest, { owned: true, script: platform.workerUrl }),
    () => {},
  );
}

/** One load of the model: what {@linkcode Engine.unload} ends. */
interface Load {
  /** Resolves once loaded. */
  ready: Promise<void>;
  /** As `Engine.edit`. */
  edit(input: EditInput, call?: EditCallOptions): Promise<EditResult>;
  /** As `Engine.previewRegion`. */
  previewRegion(input: EditInput, call?: EditCallOptions): Promise<EditLocalization>;
  /** Releases the sessions (and ends a worker the engine started); calls reject with `reason`. */
  release(reason: EditMGTError): Promise<void>;
}

/**
 * The {@linkcode Engine} over loads that `start` makes: one at a time, the first at once, the
 * next by `reload` or by the first call after `unload`. Unloads and reloads run in order, and
 * calls wait for the one under way. `end` runs once, after the last load is released.
 */
function reloadable(
  options: EngineOptions,
  start: (settings: EngineOptions) => Load,
  end: () => void,
): Engine {
  // A signal cancels the load it came with, never the later ones: it is not kept.
  let settings: EngineOptions = { ...options, signal: undefined };
  let load: Load | null = null;
  let ready: Promise<void> = Promise.resolve();
  let changing: Promise<void> = Promise.resolve();
  let disposing: Promise<void> | null = null;

  const begin = (signal?: AbortSignal): Load => {
    const current = start({ ...settings, signal });
    load = current;
    ready = cancellable(current.ready, signal, () => {
      if (load === current) load = null;
      current.release(abortedLoadError(signal!)).catch(() => {});
    });
    ready.catch(() => {});
    return current;
  };
  const release = async (reason: EditMGTError) => {
    const current = load;
    load = null;
    await current?.release(reason);
  };
  /** Runs `work` after every unload and reload before it. */
  const change = (work: () => Promise<void>): Promise<void> => {
    const done = changing.then(work);
    changing = done.catch(() => {});
    return done;
  };
  const loaded = async (): Promise<Load> => {
    await changing;
    if (disposing !== null) throw disposedError();
    return load ?? begin();
  };
  begin(options.signal);

  return {
    get ready() {
      return ready;
    },
    edit: async (input, call) => await (await loaded()).edit(input, call),
    previewRegion: async (input, call) => await (await loaded()).previewRegion(input, call),
    unload: () =>
      change(async () => {
        if (disposing === null) await release(unloadedError());
      }),
    reload: (changes = {}) =>
      change(async () => {
        if (disposing !== null) throw disposedError();
        await release(unloadedError());
        const { signal, ...rest } = changes;
        settings = { ...settings, ...rest };
        begin(signal);
        await ready;
      }),
    dispose() {
      disposing ??= change(async () => {
        await release(disposedError());
        end();
      });
      return disposing;
    },
  };
}

/** `ready`, rejecting with `aborted` (after `onAbort`) when `signal` aborts first. */
function cancellable(
  ready: Promise<void>,
  signal: AbortSignal | undefined,
  onAbort: () => void,
): Promise<void> {
  if (signal === undefined) return ready;
  return new Promise<void>((resolve, reject) => {
    const abort = () => {
      reject(abortedLoadError(signal));
      onAbort();
    };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    ready.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

function inThreadLoad(platform: EnginePlatform, settings: EngineOptions, manifest: URL): Load {
  // Imported here, so that a page using the Worker does not bundle the pipeline itself.
  const loading = (async () => {
    const { EditPipeline } = await import("../pipeline/pipeline.ts");
    return await EditPipeline.load(manifest, {
      source: settings.source ?? platform.source,
      createBackend: platform.createBackend,
      base: manifest,
      device: settings.device,
      backendOptions: settings.backend,
      dtype: settings.dtype,
      memory: settings.memory,
      onProgress: settings.onProgress,
      signal: settings.signal,
    });
  })();
  /** Aborts the calls still running when the load is released. */
  const releasing = new AbortController();
  /** Runs `work` on the pipeline, aborted by the call's signal or by the release. */
  const run = async <T>(
    call: EditCallOptions = {},
    work: (pipeline: EditPipeline, call: EditCallOptions) => Promise<T>,
  ): Promise<T> => {
    if (releasing.signal.aborted) throw releasing.signal.reason;
    const pipeline = await loading;
    const signals = [releasing.signal, ...(call.signal ? [call.signal] : [])];
    try {
      return await work(pipeline, { ...call, signal: AbortSignal.any(signals) });
    } catch (error) {
      throw releasing.signal.aborted ? releasing.signal.reason : error;
    }
  };
  return {
    ready: loading.then(() => {}),
    edit: (input, call) => run(call, (pipeline, call) => pipeline.edit(input, call)),
    previewRegion: (input, call) =>
      run(call, (pipeline, call) => pipeline.previewRegion(input, call)),
    async release(reason) {
      releasing.abort(reason);
      await (await loading.catch(() => null))?.dispose();
    },
  };
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: EditMGTError): void;
  onProgress?: (event: EditProgress) => void;
}

/**
 * A load in `worker`: `init`, then one message per call. `owned`: the engine started the worker,
 * and ends it on release (a worker you gave is kept, its sessions released, for the next load).
 */
function workerLoad(
  worker: Worker,
  settings: EngineOptions,
  manifest: URL,
  { owned, script }: { owned: boolean; script?: string | URL },
): Load {
  const pending = new Map<number, PendingCall>();
  let nextJob = 1;
  let failure: EditMGTError | null = null;
  let loaded = false;
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
        if (message.job === 0) settings.onProgress?.(message.event);
        else pending.get(message.job)?.onProgress?.(message.event);
        break;
      case "ready":
        loaded = true;
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
    fail(workerError(event, script));
  };
  worker.onmessageerror = () => {
    fail(new EditMGTError("internal", "the engine worker sent a message that could not be read"));
  };
  send({
    type: "init",
    manifest: manifest.href,
    device: settings.device,
    backend: settings.backend,
    dtype: settings.dtype,
    memory: settings.memory,
    store: settings.store,
  });

  const call = <T>(
    type: "edit" | "preview-region",
    input: EditInput,
    { signal, onProgress }: EditCallOptions = {},
  ): Promise<T> => {
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
    async release(reason) {
      // A worker the engine ends needs no goodbye unless it holds sessions (GPU memory is freed
      // by releasing them); a worker that stays must release what it loaded, or is loading.
      if (failure === null && (loaded || !owned)) {
        const released = new Promise<void>((resolve) => (onDisposed = resolve));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, DISPOSE_TIMEOUT_MS);
        });
        send({ type: "dispose" });
        await Promise.race([released, timeout]);
        clearTimeout(timer);
      }
      if (owned) worker.terminate();
      fail(reason);
    },
  };
}

/**
 * The error of a worker's `error` event. A worker whose script never ran (answered with an HTML
 * page, a 404, a blocked import) gets an event without a message; say what that usually means.
 */
function workerError(event: ErrorEvent, script: string | URL | undefined): EditMGTError {
  if (event.message) {
    return new EditMGTError("worker_failed", `the engine worker crashed: ${event.message}`, {
      details: { filename: event.filename, line: event.lineno },
    });
  }
  return new EditMGTError(
    "worker_failed",
    `the engine worker failed to start: its script${script === undefined ? "" : ` (${script})`}` +
      " (or a module it imports) did not load as JavaScript. Check in the network panel that " +
      "the worker's URL is served as JavaScript " +
      "(a server that answers unknown paths with index.html breaks it), or pass a Worker you " +
      "made as the `worker` option",
  );
}

function disposedError(): EditMGTError {
  return new EditMGTError("internal", "the engine was disposed; create a new one");
}

function unloadedError(): EditMGTError {
  return new EditMGTError(
    "aborted",
    "the model was unloaded while the call ran; call again (the engine loads the model again)",
  );
}

function abortedLoadError(signal: AbortSignal): EditMGTError {
  return new EditMGTError("aborted", "loading the model was cancelled", { cause: signal.reason });
}

function abortedError(signal: AbortSignal): EditMGTError {
  return new EditMGTError("aborted", "the edit was cancelled", { cause: signal.reason });
}
