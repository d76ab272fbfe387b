/**
 * `EditPipeline`: one model loaded on one device, doing edits end to end. Text -> VQ encode ->
 * the sampler loop over the transformer step graph -> VQ decode -> composite at the original
 * size. Runs anywhere onnxruntime runs (browser, worker, Deno); it knows no Deno or DOM API.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import {
  cropImage,
  fitImage,
  type Frame,
  frameFor,
  frameRegion,
  frameTokens,
  unfitImage,
} from "../image/fit.ts";
import { imageToTensor, tensorToImage } from "../image/tensor.ts";
import type { RgbaImage } from "../image/types.ts";
import { keywordRows, type TextRows } from "../localize/mod.ts";
import type { Backend, DeviceName } from "../model/backend.ts";
import {
  type GraphKind,
  loadModelComponents,
  type ModelComponents,
  type TextFeatures,
} from "../model/components.ts";
import type { MemoryRequest, SessionPolicy } from "../model/memory.ts";
import { openModelPackage } from "../model/package.ts";
import { type BackendFactory, type BackendOptions, createBackend } from "../model/select.ts";
import type { FileSource } from "../model/source.ts";
import { chooseVariants, type DtypeRequest, dtypesOf } from "../model/variants.ts";
import { firstStepLocalization, sample } from "../sampler/sample.ts";
import type { ComponentDtype, Manifest } from "../schema/manifest.ts";
import { checkEditInputFields } from "../schema/request.ts";
import { readSourceImage, readUserMask } from "./input.ts";
import { type ResolvedEditOptions, resolveEditOptions } from "./options.ts";
import { PreviewQueue } from "./preview.ts";
import { compositeEdit, keepMask } from "./region.ts";
import {
  checkInstruction,
  loadModelTokenizers,
  type ModelTokenizers,
  PromptEncoder,
} from "./text.ts";
import type {
  EditCallOptions,
  EditInput,
  EditLocalization,
  EditProgress,
  EditResult,
} from "./types.ts";

/** Options for {@linkcode EditPipeline.load}. */
export interface EditPipelineLoadOptions {
  /** Device to run on. Default "wasm" (runs everywhere); the server prefers "node". */
  device?: DeviceName;
  /** A backend to use instead of creating one for `device`. */
  backend?: Backend;
  /** Options of the created backend (threads, WASM paths). */
  backendOptions?: BackendOptions;
  /**
   * Creates the backend for `device`. Default: `createBackend` of `@editmgt/editmgt/model`
   * (`"wasm"`, `"webgpu"`); in Deno or Node.js pass `createBackend` of
   * `@editmgt/editmgt/model/deno` for the `"node"` device.
   */
  createBackend?: BackendFactory;
  /**
   * Which weights to load: `"auto"` (default: per component, the variant the manifest lists for
   * the device, else the base files), one weight type (`"fp32"`, `"fp16"`, `"int8"`, `"q4"`)
   * for every component that offers it, or a record of component names to weight types. Only
   * the chosen files are read.
   */
  dtype?: DtypeRequest;
  /**
   * How long sessions live. `"keep"`: every session is made at load and kept (fast repeated
   * edits). `"release"`: each graph is loaded when its phase starts and released after it (text
   * encoders, VQ encoder, transformer steps, VQ decoder), so peak memory is the largest graph,
   * not the sum; its files are read again (and verified) each time. `"auto"` (the default):
   * `"release"` when the chosen graphs together need more than `RELEASE_ABOVE_BYTES` (2 GiB, by
   * the manifest's `peakBytes`, else file bytes), else `"keep"`.
   */
  memory?: MemoryRequest;
  /** How model files are read; default `fetch`. */
  source?: FileSource;
  /** Base for a relative manifest location. */
  base?: string | URL;
  /** Download progress and the final `ready` event. */
  onProgress?: (event: EditProgress) => void;
  /** Cancels loading. */
  signal?: AbortSignal;
}

/** Everything an edit and a region preview share, computed before the sampler runs. */
interface PreparedEdit {
  options: ResolvedEditOptions;
  source: RgbaImage;
  /** Where the source lies in the model's square. */
  frame: Frame;
  /** The user's inpainting mask on the VQ grid (padding excluded), or null without one. */
  userMask: Uint8Array | null;
  /**
   * Tokens the sampler may regenerate (1), or null for every token: the user's mask, else with
   * `fit: "pad"` the tokens that show the image (the padding is held to the source).
   */
  editable: Uint8Array | null;
  refTokens: Int32Array;
  rows: TextRows;
  negative: TextFeatures;
  instruction: TextFeatures;
  textMs: number;
  encodeMs: number;
}

const now = () => performance.now();

/**
 * A loaded model that makes edits. A class because it owns sessions: call
 * {@linkcode EditPipeline.dispose} when done. Calls are served one at a time, in order.
 *
 * @example
 * ```ts
 * import { EditPipeline } from "@editmgt/editmgt/pipeline";
 * import { decodeImage, encodeImage } from "@editmgt/editmgt/image";
 *
 * const pipeline = await EditPipeline.load("https://example.com/models/editmgt-tiny/", {
 *   device: "wasm",
 * });
 * const image = await decodeImage(await (await fetch("https://example.com/in.png")).bytes());
 * const result = await pipeline.edit(
 *   { image, instruction: "make the red circle blue", options: { seed: 7 } },
 *   { onProgress: (event) => event.type === "step" && console.log(event.index, event.total) },
 * );
 * const png = await encodeImage(result.image);
 * await pipeline.dispose();
 * ```
 */
export class EditPipeline {
  /** The model's manifest. */
  readonly manifest: Manifest;
  /** The device the model runs on. */
  readonly device: DeviceName;
  /** The weight type each graph component runs with, by component name. */
  readonly dtypes: Readonly<Record<string, ComponentDtype>>;
  /** Whether sessions live for the pipeline's lifetime or for one phase of an edit. */
  readonly memory: SessionPolicy;
  readonly #components: ModelComponents;
  readonly #prompts: PromptEncoder;
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  /** A pipeline over loaded components (see {@linkcode EditPipeline.load}). */
  constructor(components: ModelComponents, tokenizers: ModelTokenizers) {
    this.manifest = components.manifest;
    this.device = components.device;
    this.dtypes = components.dtypes;
    this.memory = components.memory;
    this.#components = components;
    this.#prompts = new PromptEncoder(tokenizers, components);
  }

  /**
   * Opens the model at `location` (folder or manifest.json, path or URL), chooses each graph's
   * weights for the device and `options.dtype`, reads and verifies only those files (and the
   * tokenizers) against their sha256, and creates its sessions on the device. Download events
   * count up to the bytes of the chosen files.
   *
   * @throws {EditMGTError} from model loading: `not_found`, `hash_mismatch`, `invalid_manifest`,
   * `unsupported_format`, `backend_unavailable`, `download_failed`, `aborted`; `invalid_option`
   * or `invalid_input` for a `dtype` the model cannot satisfy.
   */
  static async load(
    location: string | URL,
    options: EditPipelineLoadOptions = {},
  ): Promise<EditPipeline> {
    const { onProgress, signal } = options;
    // The package outlives the load: under memory "release" each phase of an edit reads its
    // files again, which must neither report download progress nor stop when the load's
    // signal aborts later.
    let loading = true;
    const loadAbort = new AbortController();
    const abortLoad = () => loading && loadAbort.abort(signal?.reason);
    signal?.addEventListener("abort", abortLoad, { once: true });
    if (signal?.aborted) abortLoad();
    let total = 0;
    try {
      const model = await openModelPackage(location, {
        source: options.source,
        // An absolute location is its own base (the page's URL may be empty, as in Deno).
        base: options.base ?? (URL.canParse(location) ? location : undefined),
        signal: loadAbort.signal,
        onProgress: (event) =>
          loading && onProgress?.({
            type: "download",
            loaded: event.packageLoaded,
            total,
            file: event.file,
          }),
      });
      const backend = options.backend ??
        await (options.createBackend ?? createBackend)(
          options.device ?? "wasm",
          options.backendOptions,
        );
      const { dtype } = options;
      const variants = chooseVariants(model.manifest, {
        device: backend.device,
        capabilities: backend.capabilities,
        dtype,
      });
      total = model.filesFor(dtypesOf(variants)).reduce((sum, file) => sum + file.bytes, 0);
      const tokenizers = await loadModelTokenizers(model);
      const components = await loadModelComponents(model, backend, {
        dtype,
        memory: options.memory,
      });
      loading = false;
      onProgress?.({ type: "ready", device: components.device, dtypes: { ...components.dtypes } });
      return new EditPipeline(components, tokenizers);
    } finally {
      loading = false;
      signal?.removeEventListener("abort", abortLoad);
    }
  }

  /**
   * Edits one image. Progress: a `step` event after every decoding step (with a preview image
   * every `options.previewEvery` steps), then `done`.
   *
   * @throws {EditMGTError} `invalid_input` / `invalid_option` / `payload_too_large` /
   * `unsupported_format` for bad requests (before any model work), `aborted` when `signal`
   * aborts, `model_output` or `internal` when the model fails.
   */
  edit(input: EditInput, call: EditCallOptions = {}): Promise<EditResult> {
    return this.#exclusive(call.signal, () => this.#edit(input, call));
  }

  /**
   * The localization map of an edit before it is made: runs the first decoding step only and
   * returns its map (the change map on the VQ token grid, or the attention map on the transformer
   * grid; option `mapSource`), with the lambda that region hold would use.
   */
  previewRegion(input: EditInput, call: EditCallOptions = {}): Promise<EditLocalization> {
    return this.#exclusive(call.signal, () => this.#previewRegion(input, call.signal));
  }

  /** Releases every session after the calls already queued. Later calls reject. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#queue.catch(() => {});
    await this.#components.release();
  }

  async #edit(input: EditInput, call: EditCallOptions): Promise<EditResult> {
    const started = now();
    const { signal, onProgress } = call;
    const prepared = await this.#prepare(input, signal);
    const { options, refTokens, userMask, editable, source, frame } = prepared;
    const { vq } = this.manifest;

    const stepsStarted = now();
    const every = onProgress ? options.previewEvery : 0;
    const previews = new PreviewQueue({
      every,
      refTokens,
      maskTokenId: vq.maskTokenId,
      decode: async (tokens) => cropImage(await this.#decode(tokens), frame.content),
      onProgress,
    });
    const stepModel = this.#components.stepModel({
      negative: prepared.negative,
      instruction: prepared.instruction,
    });
    // One phase for every step: the transformer (and the VQ decoder, for previews) stays loaded.
    const phase: GraphKind[] = every > 0 ? ["transformer", "vq-decoder"] : ["transformer"];
    const sampled = await this.#components.withSessions(phase, async () => {
      const result = await sample(previews.gate(stepModel), {
        ...this.#sampleOptions(prepared),
        userMask: editable ?? undefined,
        signal,
        onProgress: (event) => previews.push(event),
      });
      await previews.flush();
      return result;
    });
    const stepsMs = now() - stepsStarted;

    const decodeStarted = now();
    const decoded = await this.#decode(sampled.tokens);
    const decodeMs = now() - decodeStarted;
    const compositeStarted = now();
    const localization = sampled.localization!;
    const keep = keepMask(sampled.tokens, refTokens, userMask);
    const grid = { width: vq.grid.width, height: vq.grid.height };
    const image = options.composite
      ? compositeEdit(source, cropImage(decoded, frame.content), { ...grid, data: keep }, {
        region: frameRegion(frame, grid),
      })
      : unfitImage(decoded, frame, source);
    const compositeMs = now() - compositeStarted;
    onProgress?.({ type: "done" });
    return {
      image,
      seed: sampled.seed,
      localization: {
        width: localization.grid.width,
        height: localization.grid.height,
        data: localization.map,
        lambda: localization.lambda,
      },
      mask: { ...grid, data: keep.map((kept) => 1 - kept) },
      timings: {
        textMs: prepared.textMs,
        encodeMs: prepared.encodeMs,
        stepsMs,
        decodeMs,
        compositeMs,
        totalMs: now() - started,
      },
      device: this.device,
      dtypes: { ...this.dtypes },
    };
  }

  async #previewRegion(input: EditInput, signal?: AbortSignal): Promise<EditLocalization> {
    const prepared = await this.#prepare(input, signal);
    const stepModel = this.#components.stepModel({
      negative: prepared.negative,
      instruction: prepared.instruction,
    });
    const { map, grid, lambda } = await firstStepLocalization(stepModel, {
      ...this.#sampleOptions(prepared),
      userMask: prepared.editable ?? undefined,
      signal,
    });
    return { width: grid.width, height: grid.height, data: map, lambda };
  }

  /** Validates the request (cheap checks first), encodes the text and VQ-encodes the source. */
  async #prepare(input: EditInput, signal: AbortSignal | undefined): Promise<PreparedEdit> {
    if (input === null || typeof input !== "object") {
      throw new EditMGTError("invalid_input", "an edit needs { image, instruction }");
    }
    checkEditInputFields(input);
    const { vq, resolution } = this.manifest;
    const encodeStarted = now();
    const options = resolveEditOptions(this.manifest, input.options);
    checkInstruction(input.instruction);
    const source = await readSourceImage(input.image);
    const frame = frameFor(source, resolution, vq.grid, options.fit);
    const shown = frameTokens(frame, vq.grid).data;
    const padded = shown.includes(0);
    const userMask = input.mask === undefined
      ? null
      : withinImage(await readUserMask(input.mask, source, vq.grid, frame), shown);
    let encodeMs = now() - encodeStarted;
    throwIfAborted(signal);

    const textStarted = now();
    const prompts = await this.#prompts.encode(input.instruction, options.negativePrompt);
    const rows = keywordRows(prompts.instruction.tokens, {
      rows: options.rows,
      focus: options.focus,
    });
    const textMs = now() - textStarted;
    throwIfAborted(signal);

    const vqStarted = now();
    const refTokens = await this.#components.vqEncode(imageToTensor(fitImage(source, frame)));
    encodeMs += now() - vqStarted;
    throwIfAborted(signal);
    return {
      options,
      source,
      frame,
      userMask,
      editable: userMask ?? (padded ? shown : null),
      refTokens,
      rows,
      negative: prompts.negative,
      instruction: prompts.instruction.features,
      textMs,
      encodeMs,
    };
  }

  #sampleOptions(prepared: PreparedEdit) {
    const { options, refTokens, rows } = prepared;
    const { vq, transformer, text } = this.manifest;
    return {
      refTokens,
      tokenGrid: vq.grid,
      codebookSize: vq.codebookSize,
      maskTokenId: vq.maskTokenId,
      timestep: transformer.timestep,
      steps: options.steps,
      guidance: options.guidance,
      gamma: options.gamma,
      lambda: options.lambda,
      temperature: options.temperature,
      schedule: options.schedule,
      seed: options.seed,
      heldTokens: options.heldTokens,
      localization: {
        attentionGrid: transformer.grid,
        textLength: text.length,
        rows,
        source: options.mapSource,
      },
    };
  }

  async #decode(tokens: Int32Array): Promise<RgbaImage> {
    return tensorToImage(await this.#components.vqDecode(tokens), this.manifest.resolution);
  }

  /** Runs `work` after every earlier call, unless the pipeline is disposed or `signal` aborted. */
  #exclusive<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (this.#disposed) {
      return Promise.reject(
        new EditMGTError("internal", "the pipeline was disposed; load the model again"),
      );
    }
    const run = this.#queue.catch(() => {}).then(() => {
      throwIfAborted(signal);
      return work();
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

/**
 * The user's mask limited to the tokens that show the image (`shown`; all of them unless
 * `fit: "pad"` padded it), so the padding is never regenerated.
 *
 * @throws {EditMGTError} `invalid_input` when the mask selects only padding.
 */
function withinImage(userMask: Uint8Array, shown: Uint8Array): Uint8Array {
  const within = userMask.map((flag, j) => flag & shown[j]);
  if (!within.includes(1)) {
    throw new EditMGTError(
      "invalid_input",
      'the mask selects only the padding around the image (fit "pad"); mark part of the image',
      { details: { field: "mask" } },
    );
  }
  return within;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new EditMGTError("aborted", "the edit was cancelled", { cause: signal.reason });
  }
}
