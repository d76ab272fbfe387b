/**
 * `createEditor`: the one factory a page calls. It opens the model's manifest, probes the
 * browser, picks the device, downloads the model into the browser's storage (OPFS or Cache
 * Storage; resumable, verified part by part) and starts the engine in a
 * Web Worker, or talks to the remote edit API, behind one {@linkcode Editor} interface.
 *
 * @module
 */

import { createEngineWith, type Engine } from "../src/engine/engine.ts";
import { EditMGTError, isEditMGTError } from "../src/errors/mod.ts";
import type { BinaryMask } from "../src/image/types.ts";
import type { ModelPackage } from "../src/model/package.ts";
import type { MemoryRequest } from "../src/model/memory.ts";
import type { WasmBackendOptions } from "../src/model/backends/wasm.ts";
import { describeDtypes, type DtypeRequest, dtypesOf } from "../src/model/variants.ts";
import type {
  EditInput,
  EditLocalization,
  EditProgress,
  MaskSource,
} from "../src/pipeline/types.ts";
import type { ComponentDtype, Manifest } from "../src/schema/manifest.ts";
import type { EditOptions } from "../src/schema/options.ts";
import { type ModelCache, modelCache } from "./cache.ts";
import { downloadModelFiles } from "./download.ts";
import { type ImageInput, readImageInput } from "./image_input.ts";
import { openManifest } from "./manifest.ts";
import { cachedSource } from "./source.ts";
import {
  chooseDevice,
  type DeviceChoice,
  type EditorDevice,
  fitVariants,
  modelNeeds,
  probe,
  type ProbeReport,
} from "./probe.ts";
import { createRemoteEditor, type RemoteOptions } from "./remote.ts";
import { type EditorProgress, type EditorResult, editorResult, toImageData } from "./result.ts";
import { DEFAULT_CACHE_NAME, deleteFile, type EntryStore, openStore } from "./store.ts";

/** Options for {@linkcode createEditor}. */
export interface EditorOptions {
  /** The model: its folder or `manifest.json`, as a URL or a path relative to the page. */
  manifest: string | URL;
  /**
   * Where the model runs. `"auto"` (the default) probes the browser and picks WebGPU, else WASM,
   * else the remote edit API; {@linkcode Editor.reason} says why.
   */
  device?: "auto" | EditorDevice;
  /**
   * Where the model runs: `true` (the default) in the SDK's Web Worker, started as
   * `new Worker(new URL("./worker.js", import.meta.url), { type: "module" })` so that bundlers
   * build it; a `Worker` you made, whose module calls `serveEditorWorker()` of
   * `@editmgt/editmgt/sdk/worker` (e.g. to serve it from your origin, or with your bundler's
   * own worker syntax); `false` on the page's thread.
   */
  worker?: boolean | Worker;
  /**
   * Keep model files in the browser's storage (default true, named "editmgt-models"): the
   * Origin Private File System where there is one, else Cache Storage. Downloads are verified
   * part by part and resume after an interruption or a reload. A string names the store; false
   * downloads the files into memory on every load.
   */
  cache?: boolean | string;
  /** Cancels creating the editor (downloads included); it rejects with an `aborted` error. */
  signal?: AbortSignal;
  /**
   * Loading progress: per file `initiate`, `download` (bytes of the file and of the whole load,
   * whose total is known from the manifest before the first byte) and `done`, then `ready`.
   */
  onProgress?: (event: EditorProgress) => void;
  /** WASM threads (default: up to 4 when the page is cross-origin isolated, else 1). */
  threads?: number;
  /**
   * Where onnxruntime-web's `ort-wasm-*.wasm`/`.mjs` files are served from (its
   * `env.wasm.wasmPaths`): a folder URL ending in `/`, or a record of file names to URLs. Needed
   * where a bundler or host does not serve them beside the code that loads them.
   */
  wasmPaths?: WasmBackendOptions["wasmPaths"];
  /**
   * Which weights to download and run, as in transformers.js: `"auto"` (the default: per
   * component, the variant the manifest lists for the device, e.g. fp16 on WebGPU with
   * `shader-f16`, else the base files), one weight type (`"fp32"`, `"fp16"`, `"int8"`, `"q4"`)
   * for every component that offers it, or a record of component names to weight types. Only
   * the chosen files are downloaded; {@linkcode Editor.dtypes} says what was chosen. Not used
   * by the remote device (the server chooses).
   */
  dtype?: DtypeRequest;
  /**
   * How long the model's sessions live (see `EditPipelineLoadOptions.memory`): `"keep"` loads
   * every graph once, `"release"` loads each for its phase and releases it after (peak memory is
   * the largest graph), `"auto"` (the default) releases for models over 2 GiB. The device check
   * before download counts the memory this way. Not used by the remote device.
   */
  memory?: MemoryRequest;
  /** Where the remote device sends edits. */
  remote?: RemoteOptions;
}

/** One edit: the image, the instruction and any {@linkcode EditOptions}. */
export interface EditorRequest extends EditOptions {
  /** The source image. */
  image: ImageInput;
  /** What to change, in words. */
  instruction: string;
  /**
   * Inpainting: a mask image of the source's size (bright opaque pixels = the region to
   * regenerate) or a token mask on the model's VQ grid.
   */
  mask?: ImageInput | BinaryMask;
}

/** Cancellation and progress for one call. */
export interface EditorCallOptions {
  /** Aborting rejects the call with an `aborted` error; the editor stays usable. */
  signal?: AbortSignal;
  /** Step events (with previews when asked for), then `done`. */
  onProgress?: (event: EditorProgress) => void;
}

/** A model ready to edit images, wherever it runs. */
export interface Editor {
  /** Where the model runs. */
  readonly device: EditorDevice;
  /** Why this device (and these weights), in words. */
  readonly reason: string;
  /** The weight type each graph component runs with (empty on the remote device). */
  readonly dtypes: Readonly<Record<string, ComponentDtype>>;
  /** The model's manifest. */
  readonly manifest: Manifest;
  /** What the browser offered when the editor was made. */
  readonly probe: ProbeReport;
  /** The model store this editor uses. */
  readonly cache: ModelCache;
  /** Makes an edit. Calls are served one at a time, in order. */
  edit(request: EditorRequest, call?: EditorCallOptions): Promise<EditorResult>;
  /** Runs one step and returns the localization map: where the instruction would act. */
  previewRegion(request: EditorRequest, call?: EditorCallOptions): Promise<EditLocalization>;
  /** Ends the worker and frees the model's memory. Later calls reject. */
  dispose(): Promise<void>;
}

/** What a local or remote editor is built from. */
export interface EditorContext {
  /** The opened model package. */
  model: ModelPackage;
  /** The probe report. */
  report: ProbeReport;
  /** The device and why. */
  choice: DeviceChoice;
  /** The model store. */
  cache: ModelCache;
  /** The editor's options. */
  options: EditorOptions;
}

/**
 * Creates an editor: resolves when the model is downloaded, verified and loaded.
 *
 * @example
 * ```ts
 * import { createEditor } from "/sdk/mod.js";
 *
 * const editor = await createEditor({
 *   manifest: "/models/editmgt-tiny/",
 *   onProgress: (event) => event.type === "download" && console.log(event.loaded / event.total),
 * });
 * console.log(editor.device, editor.reason);
 * const file = document.querySelector("input[type=file]").files[0];
 * const result = await editor.edit({ image: file, instruction: "make the red circle blue", seed: 1 });
 * document.querySelector("img").src = URL.createObjectURL(result.image);
 * ```
 */
export async function createEditor(options: EditorOptions): Promise<Editor> {
  const { signal } = options;
  throwIfAborted(signal);
  const cacheName = typeof options.cache === "string" ? options.cache : DEFAULT_CACHE_NAME;
  const store = options.cache === false ? null : await openStore(cacheName);
  const model = await openManifest(options.manifest, { store, signal });
  const report = await probe();
  const requested = options.device ?? "auto";
  const choice: DeviceChoice = requested === "auto"
    ? chooseDevice(report, modelNeeds(model.manifest, options.dtype))
    : { device: requested, reason: `asked for ${requested}` };
  const context = { model, report, choice, cache: modelCache(cacheName, store?.kind), options };
  if (choice.device === "remote") return createRemoteEditor(context);
  return await createLocalEditor(context, store, requested === "auto");
}

async function createLocalEditor(
  context: EditorContext,
  store: EntryStore | null,
  fallBack: boolean,
): Promise<Editor> {
  const { model, options, report } = context;
  let { device, reason } = context.choice as { device: "webgpu" | "wasm"; reason: string };
  let dtypes: Record<string, ComponentDtype> = {};
  /** Loads on `device` with the weights suggested for it. */
  const load = async (): Promise<Engine> => {
    const plan = fitVariants(report, model.manifest, {
      device,
      dtype: options.dtype,
      memory: options.memory,
    });
    if (plan.note) reason = `${reason}; ${plan.note}`;
    dtypes = dtypesOf(plan.variants);
    return await loadEngine(model, device, dtypes, store, options);
  };
  let engine: Engine;
  try {
    engine = await load();
  } catch (error) {
    if (!(fallBack && device === "webgpu" && isEditMGTError(error, "backend_unavailable"))) {
      throw error;
    }
    reason = `${reason}, but WebGPU failed (${error.message}); using WASM`;
    device = "wasm";
    engine = await load();
  }
  reason = `${reason}; weights: ${describeDtypes(dtypes)}`;
  options.onProgress?.({ type: "ready", device, dtypes: { ...dtypes } });

  const engineInput = async (request: EditorRequest, signal?: AbortSignal) => {
    const { image, instruction, mask, ...editOptions } = request;
    const input: EditInput = {
      image: await readImageInput(image, signal),
      instruction,
      options: editOptions,
    };
    if (mask !== undefined) input.mask = await readMask(mask, signal);
    return input;
  };
  const progress = (call: EditorCallOptions) => (event: EditProgress) => {
    if (event.type === "step") {
      call.onProgress?.({
        ...event,
        preview: event.preview ? toImageData(event.preview) : undefined,
      });
    } else if (event.type === "ready") {
      call.onProgress?.({ type: "ready", device, dtypes: { ...dtypes } });
    } else call.onProgress?.(event);
  };

  return {
    device,
    reason,
    dtypes,
    manifest: model.manifest,
    probe: context.report,
    cache: context.cache,
    async edit(request, call = {}) {
      const input = await engineInput(request, call.signal);
      const result = await engine.edit(input, { signal: call.signal, onProgress: progress(call) });
      return await editorResult(result, device);
    },
    async previewRegion(request, call = {}) {
      const input = await engineInput(request, call.signal);
      return await engine.previewRegion(input, { signal: call.signal });
    },
    dispose: () => engine.dispose(),
  };
}

/**
 * Downloads what the store lacks of the files of `dtypes` (tokenizers and the chosen weights
 * only), then loads the engine with exactly those weights. A stored file that fails the engine's
 * sha256 check (corrupted on disk) is deleted and downloaded again, once.
 */
async function loadEngine(
  model: ModelPackage,
  device: "webgpu" | "wasm",
  dtypes: Record<string, ComponentDtype>,
  store: EntryStore | null,
  options: EditorOptions,
): Promise<Engine> {
  const files = model.filesFor(dtypes);
  for (let attempt = 0;; attempt++) {
    if (store !== null) {
      await downloadModelFiles(store, files, {
        signal: options.signal,
        onProgress: options.onProgress,
      });
    }
    try {
      return await startEngine(model, device, dtypes, store, options);
    } catch (error) {
      const url = isEditMGTError(error, "hash_mismatch") ? error.details?.url : undefined;
      const corrupt = files.find((file) => file.url.href === url);
      if (store === null || attempt > 0 || corrupt === undefined) throw error;
      await deleteFile(store, corrupt.sha256);
    }
  }
}

/** Starts the engine and waits until it is ready (or the editor's signal aborts). */
async function startEngine(
  model: ModelPackage,
  device: "webgpu" | "wasm",
  dtypes: Record<string, ComponentDtype>,
  store: EntryStore | null,
  options: EditorOptions,
): Promise<Engine> {
  // With a store the SDK has reported the download; the engine's own reads come from the cache.
  const onProgress = (event: EditProgress) => {
    if (event.type === "download" && store === null) options.onProgress?.(event);
  };
  const engine = options.worker === false
    ? await inThreadEngine(model, device, dtypes, store, onProgress, options)
    : createEngineWith({}, {
      manifest: model.manifestUrl,
      device,
      dtype: dtypes,
      memory: options.memory,
      worker: options.worker instanceof Worker ? options.worker : startWorker(),
      store: store === null ? undefined : { name: store.name, kind: store.kind },
      backend: backendOptions(options),
      onProgress,
    });
  const { signal } = options;
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(abortedError(signal!));
    signal?.addEventListener("abort", onAbort, { once: true });
    const cleanUp = () => signal?.removeEventListener("abort", onAbort);
    engine.ready.then(cleanUp, cleanUp);
  });
  try {
    await Promise.race([engine.ready, aborted]);
    return engine;
  } catch (error) {
    await engine.dispose();
    throw error;
  }
}

/** The engine on the page's thread: the pipeline itself, reading files from the store. */
async function inThreadEngine(
  model: ModelPackage,
  device: "webgpu" | "wasm",
  dtypes: Record<string, ComponentDtype>,
  store: EntryStore | null,
  onProgress: (event: EditProgress) => void,
  options: EditorOptions,
): Promise<Engine> {
  const { signal, memory } = options;
  const { EditPipeline } = await import("../src/pipeline/pipeline.ts");
  const pipeline = await EditPipeline.load(model.manifestUrl, {
    device,
    dtype: dtypes,
    memory,
    backendOptions: backendOptions(options),
    source: store === null ? undefined : cachedSource(store.name, store.kind),
    onProgress,
    signal,
  });
  return {
    ready: Promise.resolve(),
    edit: (input, call) => pipeline.edit(input, call),
    previewRegion: (input, call) => pipeline.previewRegion(input, call),
    dispose: () => pipeline.dispose(),
  };
}

/** The backend options the editor's options name (WASM threads and file location). */
function backendOptions({ threads, wasmPaths }: EditorOptions): WasmBackendOptions {
  return { ...(threads === undefined ? {} : { threads }), ...(wasmPaths ? { wasmPaths } : {}) };
}

/**
 * Starts the SDK's worker, written the way bundlers recognise (Vite, webpack, esbuild, Parcel
 * build `worker.js` and what it imports as a worker of its own). A browser refuses a worker
 * script from another origin (a page loading the SDK from a CDN) with a `SecurityError`.
 */
function startWorker(): Worker {
  try {
    return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  } catch (cause) {
    if (!(cause instanceof DOMException && cause.name === "SecurityError")) throw cause;
    throw new EditMGTError(
      "worker_failed",
      `the browser refused to start the SDK's worker from ${new URL(
        "./worker.js",
        import.meta.url,
      )}` +
        " because it is not on the page's origin: serve the SDK from your own origin (or bundle it), " +
        "or pass a Worker made on your origin as the `worker` option (see serveEditorWorker)",
      { cause },
    );
  }
}

async function readMask(mask: ImageInput | BinaryMask, signal?: AbortSignal): Promise<MaskSource> {
  const isTokenMask = typeof mask === "object" && "data" in mask &&
    mask.data instanceof Uint8Array && !(mask.data instanceof Uint8ClampedArray);
  return isTokenMask ? mask as BinaryMask : await readImageInput(mask as ImageInput, signal);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

function abortedError(signal: AbortSignal): EditMGTError {
  return new EditMGTError("aborted", "creating the editor was cancelled", { cause: signal.reason });
}
