/**
 * The data that goes into and comes out of one edit (the Engine contract): request, result,
 * progress events. Plain objects and typed arrays only, so they cross a Worker boundary
 * unchanged.
 *
 * @module
 */

import type { DeviceName } from "../model/backend.ts";
import type { BinaryMask, RgbaImage } from "../image/types.ts";
import type { ComponentDtype } from "../schema/manifest.ts";
import type { EditOptions } from "../schema/options.ts";
import type { StepEvent } from "../sampler/options.ts";
import type { EditTimings } from "../schema/job.ts";

export type { EditTimings } from "../schema/job.ts";

/** An image as RGBA pixels, or as encoded PNG/JPEG/WebP bytes (decoded by the pipeline). */
export type ImageSource = RgbaImage | Uint8Array;

/** A mask as a mask image (pixels or encoded bytes) or as a token mask on the VQ grid. */
export type MaskSource = RgbaImage | BinaryMask | Uint8Array;

/**
 * One edit to make: the one request shape of every device, whether the pipeline, the engine or
 * the browser SDK's editor (local or remote) makes it. `Image` and `Mask` are the forms images
 * come in: pixels or encoded bytes here; the SDK also takes `Blob`s, URLs, canvases and
 * `ImageData`.
 */
export interface EditInput<Image = ImageSource, Mask = MaskSource> {
  /**
   * The source image, any size and shape (it goes into the model's square as `options.fit`
   * says, and the result comes back at its size). Encoded bytes are decoded where the pipeline
   * runs: in the engine's Worker, off the caller's thread.
   */
  image: Image;
  /** What to change, in words ("make the red circle blue"). */
  instruction: string;
  /**
   * Inpainting: the region to regenerate, either a mask image of the source's size (bright,
   * opaque pixels are set) or a binary token mask on the model's VQ grid (the grid of the whole
   * square, padding included with `fit: "pad"`). Tokens outside it keep the source.
   */
  mask?: Mask;
  /** Sampler and localization options; the model manifest's defaults fill the gaps. */
  options?: EditOptions;
}

/** A map on a grid, row-major. */
export interface GridMap<T extends Float32Array | Uint8Array> {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** `width * height` values. */
  data: T;
}

/**
 * The localization map of an edit, values in [0, 1]: the change map on the VQ token grid, or the
 * attention map on the transformer grid (option `mapSource`).
 */
export interface EditLocalization extends GridMap<Float32Array> {
  /** The lambda region hold compared against (resolved when "auto"; 0 = nothing held). */
  lambda: number;
}

/** The result of one edit. */
export interface EditResult {
  /** The edited image at the source's size. */
  image: RgbaImage;
  /** The seed that produced it (the given one or the random one that was drawn). */
  seed: number;
  /** The map region hold used: the first step's change map or the last step's attention map. */
  localization: EditLocalization;
  /**
   * Tokens on the VQ grid that the edit changed (1) or kept from the source (0), over the model's
   * whole square (with `fit: "pad"` its padding is always 0).
   */
  mask: GridMap<Uint8Array>;
  /** Time per phase. */
  timings: EditTimings;
  /** The device the model ran on. */
  device: DeviceName;
  /** The weight type each graph component ran with, by component name. */
  dtypes: Record<string, ComponentDtype>;
}

/** Bytes of model files read so far, out of the total of the files the load reads. */
export interface DownloadProgress {
  /** Event kind. */
  type: "download";
  /** Bytes read so far over all files. */
  loaded: number;
  /** Bytes of all files together. */
  total: number;
  /** The file being read. */
  file?: string;
}

/**
 * Every session is made; edits can start. `Device` is where the model runs: a `DeviceName` here,
 * and in the browser SDK also `"remote"`.
 */
export interface ReadyProgress<Device extends string = DeviceName> {
  /** Event kind. */
  type: "ready";
  /** The device the model runs on. */
  device: Device;
  /** The weight type each graph component runs with, by component name. */
  dtypes: Record<string, ComponentDtype>;
}

/**
 * One decoding step finished: the sampler's {@linkcode StepEvent}, with the image so far every
 * `previewEvery` steps. `Preview` is the form of that image: pixels here, an `ImageData` in the
 * browser SDK.
 */
export interface StepProgress<Preview = RgbaImage> extends StepEvent {
  /** The image so far, at the model resolution, every `previewEvery` steps. */
  preview?: Preview;
}

/** The edit is complete. */
export interface DoneProgress {
  /** Event kind. */
  type: "done";
}

/** Progress of loading a model or running an edit: one typed union. */
export type EditProgress = DownloadProgress | ReadyProgress | StepProgress | DoneProgress;

/** Cancellation and progress for one call. */
export interface EditCallOptions {
  /** Aborting rejects the call with an `aborted` error; the pipeline stays usable. */
  signal?: AbortSignal;
  /** Called with progress events. */
  onProgress?: (event: EditProgress) => void;
}
