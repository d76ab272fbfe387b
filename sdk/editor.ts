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
import type { ModelPackage, PackageFile } from "../src/model/package.ts";
import type { MemoryRequest } from "../src/model/memory.ts";
import type { WasmBackendOptions } from "../src/model/backends/wasm.ts";
import type { BrowserDevice } from "../src/schema/devices.ts";
import { checkEditInputFields } from "../src/schema/request.ts";
import { describeDtypes, type DtypeRequest, dtypesOf } from "../src/model/variants.ts";
import type {
  EditInput,
  EditLocalization,
  EditProgress,
  MaskSource,
} from "../src/pipeline/types.ts";
import type { ComponentDtype, Manifest } from "../src/schema/manifest.ts";
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

/**
 * One edit: the image, the instruction, an optional inpainting mask and any `EditOptions`
 * (nested as `options`, as the engine, the pipeline and the edit API take them). The image is a
 * `Blob`/`File`, a URL, an `ImageData`, a canvas or bitmap, or encoded bytes; the mask is an
 * image of the source's size (bright opaque pixels = the region to regenerate) or a token mask
 * on the model's VQ grid.
 */
export type EditorRequest = EditInput<ImageInput, ImageInput | BinaryMask>;

/** What {@linkcode Editor.reload} may change; the rest stays as the editor was created. */
export interface EditorReloadOptions {
  /** Another local device (the remote device cannot change). */
  device?: BrowserDevice;
  /** Other weights (see `EditorOptions.dtype`); the missing files are downloaded first. */
  dtype?: DtypeRequest;
  /** Another session policy (see `EditorOptions.memory`). */
  memory?: MemoryRequest;
  /** Cancels this reload (downloads included); it rejects with an `aborted` error. */
  signal?: AbortSignal;
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
  /** Where the model runs (as of the latest load). */
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
  /**
   * Frees the model's memory (its sessions and the SDK's worker) and keeps the editor, as
   * WebLLM's `unload`: the next call loads the model again first (from the browser's storage,
   * with `download` and `ready` events to the editor's `onProgress`). Calls still running reject
   * with `aborted`. Nothing to free on the remote device.
   */
  unload(): Promise<void>;
  /**
   * Loads the model again, with `changes` (another device or weights) over the current options,
   * downloading the files it lacks; resolves when it is ready. On failure the editor stays
   * unloaded, and the next call tries these options again.
   *
   * @throws {EditMGTError} as `createEditor`; `invalid_option` for changes on the remote device.
   */
  reload(changes?: EditorReloadOptions): Promise<void>;
  /** Ends the worker and frees the model's memory for good. Later calls reject. */
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
 * import { createEditor } from "@editmgt/editmgt/sdk";
 *
 * const editor = await createEditor({
 *   manifest: "/models/editmgt-tiny/",
 *   onProgress: (event) => event.type === "download" && console.log(event.loaded / event.total),
 * });
 * console.log(editor.device, editor.reason);
 * const image = await (await fetch("/samples/shapes-1.png")).blob(); // or an <input type=file>'s File
 * const result = await editor.edit({
 *   image,
 *   instruction: "make the red circle blue",
 *   options: { seed: 1 },
 * });
 * await editor.unload(); // frees the model's memory; the next edit loads it again
 * await editor.reload({ device: "wasm" });
 * const src = URL.createObjectURL(result.image); // for an <img>
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
  let settings: EditorReloadOptions & { device: BrowserDevice } = {
    device: context.choice.device as BrowserDevice,
    dtype: options.dtype,
    memory: options.memory,
  };
  let { device } = settings;
  /** Why this device, without the weights. */
  let why = context.choice.reason;
  let reason = why;
  let dtypes: Record<string, ComponentDtype> = {};
  let engine: Engine | null = null;
  let loaded = false;
  let changing: Promise<void> = Promise.resolve();

  /**
   * Loads the model with `settings`: downloads what the store lacks of the weights the probe
   * suggests, then starts the engine (or reloads it) with exactly those weights.
   */
  const load = async (signal: AbortSignal | undefined): Promise<string | undefined> => {
    const plan = fitVariants(report, model.manifest, settings);
    const chosen = dtypesOf(plan.variants);
    const engineSettings = { device: settings.device, dtype: chosen, memory: settings.memory };
    await withVerifiedFiles(model.filesFor(chosen), store, { ...options, signal }, async () => {
      if (engine === null) {
        engine = startEngine(model, engineSettings, store, { ...options, signal });
        await engine.ready;
      } else await engine.reload({ ...engineSettings, signal });
    });
    device = settings.device;
    dtypes = chosen;
    loaded = true;
    return plan.note;
  };
  const ready = (note: string | undefined) => {
    reason = `${why}${note ? `; ${note}` : ""}; weights: ${describeDtypes(dtypes)}`;
    options.onProgress?.({ type: "ready", device, dtypes: { ...dtypes } });
  };
  /** Runs `work` after every reload and unload before it. */
  const change = (work: () => Promise<void>): Promise<void> => {
    const done = changing.then(work);
    changing = done.catch(() => {});
    return done;
  };
  const reload = (changes: EditorReloadOptions = {}) =>
    change(async () => {
      const { signal, ...rest } = changes;
      settings = { ...settings, ...rest };
      loaded = false;
      const note = await load(signal);
      if (rest.device !== undefined) why = `asked for ${device}`;
      ready(note);
    });
  /** The engine, loaded again first after `unload`. */
  const loadedEngine = async (): Promise<Engine> => {
    await changing;
    if (!loaded) await reload();
    return engine!;
  };

  try {
    let note: string | undefined;
    try {
      note = await load(options.signal);
    } catch (error) {
      if (!(fallBack && device === "webgpu" && isEditMGTError(error, "backend_unavailable"))) {
        throw error;
      }
      why = `${why}, but WebGPU failed (${error.message}); using WASM`;
      settings = { ...settings, device: "wasm" };
      note = await load(options.signal);
    }
    ready(note);
  } catch (error) {
    await (engine as Engine | null)?.dispose();
    throw error;
  }

  const engineInput = async (request: EditorRequest, signal?: AbortSignal) => {
    checkEditInputFields(request);
    const { image, mask, ...rest } = request;
    const input: EditInput = { ...rest, image: await readImageInput(image, signal) };
    if (mask !== undefined) input.mask = await readMask(mask, signal);
    return input;
  };
  const progress = (call: EditorCallOptions) => (event: EditProgress) => {
    if (event.type === "step") {
      call.onProgress?.({
        ...event,
        preview: event.preview ? toImageData(event.preview) : undefined,
      });
    } else if (event.type === "done") call.onProgress?.(event);
  };

  return {
    get device() {
      return device;
    },
    get reason() {
      return reason;
    },
    get dtypes() {
      return dtypes;
    },
    manifest: model.manifest,
    probe: context.report,
    cache: context.cache,
    async edit(request, call = {}) {
      const input = await engineInput(request, call.signal);
      const result = await (await loadedEngine()).edit(input, {
        signal: call.signal,
        onProgress: progress(call),
      });
      return await editorResult(result, device);
    },
    async previewRegion(request, call = {}) {
      const input = await engineInput(request, call.signal);
      return await (await loadedEngine()).previewRegion(input, { signal: call.signal });
    },
    unload: () =>
      change(async () => {
        loaded = false;
        await engine!.unload();
      }),
    reload,
    dispose: () => engine!.dispose(),
  };
}

/**
 * Downloads what the store lacks of `files`, then runs `start`. A stored file that fails the
 * engine's sha256 check (corrupted on disk) is deleted, downloaded again and `start` retried,
 * once.
 */
async function withVerifiedFiles(
  files: PackageFile[],
  store: EntryStore | null,
  { signal, onProgress }: EditorOptions,
  start: () => Promise<void>,
): Promise<void> {
  for (let attempt = 0;; attempt++) {
    if (store !== null) await downloadModelFiles(store, files, { signal, onProgress });
    try {
      return await start();
    } catch (error) {
      const url = isEditMGTError(error, "hash_mismatch") ? error.details?.url : undefined;
      const corrupt = files.find((file) => file.url.href === url);
      if (store === null || attempt > 0 || corrupt === undefined) throw error;
      await deleteFile(store, corrupt.sha256);
    }
  }
}

/**
 * Starts the engine: in the SDK's worker (started again by every load), a worker you gave, or
 * the page's thread, reading files from the store when there is one.
 */
function startEngine(
  model: ModelPackage,
  settings: {
    device: BrowserDevice;
    dtype: Record<string, ComponentDtype>;
    memory?: MemoryRequest;
  },
  store: EntryStore | null,
  options: EditorOptions,
): Engine {
  const { threads, wasmPaths } = options;
  return createEngineWith({ startWorker, workerUrl: workerUrl() }, {
    ...settings,
    manifest: model.manifestUrl,
    worker: options.worker ?? true,
    store: store === null ? undefined : { name: store.name, kind: store.kind },
    source: store === null ? undefined : cachedSource(store.name, store.kind),
    backend: { ...(threads === undefined ? {} : { threads }), ...(wasmPaths ? { wasmPaths } : {}) },
    signal: options.signal,
    // With a store the SDK has reported the download; the engine's own reads come from the cache.
    onProgress: (event) => {
      if (event.type === "download" && store === null) options.onProgress?.(event);
    },
  });
}

/**
 * Starts the SDK's worker, written the way bundlers recognise (Vite, webpack, esbuild, Parcel
 * build `worker.js` and what it imports as a worker of its own). A browser refuses a worker
 * script from another origin (a page loading the SDK from a CDN) with a `SecurityError`.
 */
function startWorker(): Worker {
  // The URL is written out here (not taken from workerUrl) so that bundlers see the pattern.
  try {
    return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  } catch (cause) {
    if (!(cause instanceof DOMException && cause.name === "SecurityError")) throw cause;
    throw new EditMGTError(
      "worker_failed",
      `the browser refused to start the SDK's worker from ${workerUrl()}` +
        " because it is not on the page's origin: serve the SDK from your own origin (or bundle it), " +
        "or pass a Worker made on your origin as the `worker` option (see serveEditorWorker)",
      { cause },
    );
  }
}

/** The script of the SDK's worker, as `startWorker` names it (for error messages). */
function workerUrl(): string {
  return new URL("./worker.js", import.meta.url).href;
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
