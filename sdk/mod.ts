/**
 * The browser SDK of EditMGT for the web: `createEditor` loads a model (WebGPU, WASM or the
 * remote edit API, picked by probing the browser), keeps its files in the Origin Private File
 * System or Cache Storage (multi-gigabyte files streamed in parts, sha256 verified part by part,
 * resumable with Range after a reload, quota checked first; files may be hosted anywhere) and
 * edits images in a Web Worker, so the page stays responsive. Served bundled at `/sdk/mod.js` by
 * the edge server: a page it serves imports from `"/sdk/mod.js"` instead of the package name.
 *
 * @example
 * ```ts
 * import { createEditor, probe } from "@editmgt/editmgt/sdk";
 *
 * console.log(await probe());
 * const editor = await createEditor({ manifest: "/models/editmgt-tiny/" });
 * const result = await editor.edit(
 *   { image: "/samples/shapes.png", instruction: "make the red circle blue", options: { seed: 3 } },
 *   { onProgress: (event) => console.log(event.type) },
 * );
 * const src = URL.createObjectURL(result.image); // for an <img>
 * ```
 *
 * @module
 */

export {
  createEditor,
  type Editor,
  type EditorCallOptions,
  type EditorOptions,
  type EditorReloadOptions,
  type EditorRequest,
} from "./editor.ts";
export { type ModelCache, modelCache, type ModelDownloadOptions } from "./cache.ts";
export { type ImageFileInfo, type ImageInput, inspectImage } from "./image_input.ts";
export {
  chooseDevice,
  deviceCapabilities,
  type DeviceChoice,
  type EditorDevice,
  type FitOptions,
  type FitProblem,
  fitVariants,
  memoryProblems,
  type ModelNeeds,
  modelNeeds,
  probe,
  type ProbeReport,
  type StorageReport,
  suggestVariants,
  type VariantPlan,
  WASM32_MEMORY_BYTES,
  type WasmReport,
  type WebGpuReport,
} from "./probe.ts";
export type { RemoteOptions } from "./remote.ts";
export {
  type EditorProgress,
  type EditorReadyProgress,
  type EditorResult,
  type EditorStepProgress,
  localizationHeatmap,
} from "./result.ts";
export { readServerEvents, type ServerEvent } from "./sse.ts";
export { cachedSource } from "./source.ts";
export type { CanvasLike, ImageElementLike, VideoElementLike } from "./dom.ts";
export { DEFAULT_CACHE_NAME, type StorageKind } from "./store.ts";
export {
  DEFAULT_PART_BYTES,
  type DownloadReport,
  type FileDoneProgress,
  type InitiateProgress,
  type ModelDownloadEvent,
  type ModelDownloadProgress,
} from "./download.ts";
export {
  EditMGTError,
  ERROR_STATUS,
  type ErrorBody,
  type ErrorCode,
  isEditMGTError,
} from "../src/errors/mod.ts";
export type { BinaryMask, RgbaImage, Size } from "../src/image/types.ts";
export type { FileRequest, FileSource } from "../src/model/source.ts";
export type {
  DoneProgress,
  DownloadProgress,
  EditInput,
  EditLocalization,
  EditTimings,
  GridMap,
  ImageSource,
  MaskSource,
  ReadyProgress,
  StepProgress,
} from "../src/pipeline/types.ts";
export type { StepEvent } from "../src/sampler/options.ts";
export {
  BROWSER_DEVICES,
  type BrowserDevice,
  DEVICE_NAMES,
  type DeviceName,
} from "../src/schema/devices.ts";
export type { EditOptions } from "../src/schema/options.ts";
export {
  COMPONENT_DTYPES,
  type ComponentDtype,
  type ComponentKind,
  MANIFEST_FORMAT,
} from "../src/schema/manifest_names.ts";
export type {
  Manifest,
  ManifestComponent,
  ManifestDefaults,
  ManifestDevice,
  ManifestFile,
  ManifestFileParts,
  ManifestGrid,
  ManifestVariant,
} from "../src/schema/manifest.ts";
export type { DtypeRequest, VariantChoice } from "../src/model/variants.ts";
export type { BackendCapabilities } from "../src/model/backend.ts";
export type { MemoryRequest, SessionPolicy } from "../src/model/memory.ts";
export type { WasmBackendOptions } from "../src/model/backends/wasm.ts";
