/**
 * Results and progress events in the forms a page uses: `ImageData` to draw, a PNG `Blob` to
 * download or upload.
 *
 * @module
 */

import { renderHeatmap } from "../src/image/heatmap.ts";
import type { RgbaImage } from "../src/image/types.ts";
import type { ComponentDtype } from "../src/schema/manifest.ts";
import type {
  DoneProgress,
  DownloadProgress,
  EditLocalization,
  EditResult,
  EditTimings,
  GridMap,
  ReadyProgress,
  StepProgress,
} from "../src/pipeline/types.ts";
import { offscreenCanvas, pixelsOf } from "./dom.ts";
import type { FileDoneProgress, InitiateProgress, ModelDownloadProgress } from "./download.ts";
import type { EditorDevice } from "./probe.ts";

/** The result of {@linkcode Editor.edit}. */
export interface EditorResult {
  /** The edited image as PNG, at the source's size. */
  image: Blob;
  /** The edited pixels, exact (use them as the source of the next edit). */
  imageData: ImageData;
  /** The seed that produced it; pass it back to repeat the edit. */
  seed: number;
  /** The localization map (see `EditLocalization`), values in [0, 1], with the lambda used. */
  localization: EditLocalization;
  /** VQ-grid tokens the edit was allowed to change (1) or kept from the source (0). */
  mask: GridMap<Uint8Array>;
  /** Milliseconds per phase. */
  timings: EditTimings;
  /** Where the model ran. */
  device: EditorDevice;
  /**
   * The weight type each graph component ran with, by component name (on the remote device: as
   * the server reports it; empty when it does not).
   */
  dtypes: Record<string, ComponentDtype>;
}

/**
 * The model is loaded; edits can start: the engine's `ready` event, on an editor's device
 * (`dtypes` is empty on the remote device).
 */
export type EditorReadyProgress = ReadyProgress<EditorDevice>;

/**
 * One decoding step finished: the engine's `step` event, whose preview (when previews were
 * asked for, `previewEvery`) comes as an `ImageData` to draw.
 */
export type EditorStepProgress = StepProgress<ImageData>;

/**
 * Progress of loading a model or making an edit: one typed union. Loading a model: per file
 * `initiate`, `download` and `done` (with `file`), then `ready`; with `cache: false` the engine
 * reads the files itself and reports plain `download` events (overall bytes and the file).
 * An edit: `step` events, then `done` (without `file`).
 */
export type EditorProgress =
  | InitiateProgress
  | ModelDownloadProgress
  | DownloadProgress
  | FileDoneProgress
  | EditorReadyProgress
  | EditorStepProgress
  | DoneProgress;

/**
 * Converts an engine result (pixels transferred from the worker) for the page; `png` is the
 * image already encoded, when it came so.
 */
export async function editorResult(
  result: Omit<EditResult, "device">,
  device: EditorDevice,
  png?: Blob,
): Promise<EditorResult> {
  return {
    image: png ?? await encodePng(result.image),
    imageData: toImageData(result.image),
    seed: result.seed,
    localization: result.localization,
    mask: result.mask,
    timings: result.timings,
    device,
    dtypes: result.dtypes,
  };
}

/** `image` as a DOM `ImageData` over the same pixels. */
export function toImageData(image: RgbaImage): ImageData {
  return new ImageData(image.data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height);
}

/**
 * PNG bytes of `image`. Opaque images go through `OffscreenCanvas.convertToBlob`, which encodes
 * off the page's thread and is lossless for them; images with transparency go through the
 * library's own PNG encoder, because a canvas premultiplies alpha and would round their colours.
 */
export async function encodePng(image: RgbaImage): Promise<Blob> {
  if (isOpaque(image)) {
    const { canvas, context } = offscreenCanvas(image.width, image.height);
    context.putImageData(toImageData(image), 0, 0);
    return await canvas.convertToBlob({ type: "image/png" });
  }
  const { encodeImage } = await import("../src/image/codec.ts");
  const bytes = await encodeImage(image, { format: "png" });
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "image/png" });
}

function isOpaque(image: RgbaImage): boolean {
  for (let i = 3; i < image.data.length; i += 4) if (image.data[i] !== 255) return false;
  return true;
}

/**
 * `image` with the localization map laid over it in viridis (bright = where the instruction
 * acts), upsampled bilinearly from the model's grid: the same rendering as the CLI's heatmap.
 *
 * @example
 * ```ts
 * import { createEditor, localizationHeatmap } from "@editmgt/editmgt/sdk";
 *
 * const editor = await createEditor({ manifest: "/models/editmgt-tiny/" });
 * const result = await editor.edit({ image: "/samples/shapes-1.png", instruction: "make it blue" });
 * const overlay = localizationHeatmap(result.imageData, result.localization, { opacity: 0.5 });
 * console.log(overlay.width, overlay.height); // draw it with a 2D context's putImageData
 * ```
 */
export function localizationHeatmap(
  image: ImageData | RgbaImage,
  localization: GridMap<Float32Array>,
  options: { opacity?: number } = {},
): ImageData {
  return toImageData(renderHeatmap(pixelsOf(image), localization, options));
}
