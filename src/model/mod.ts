/**
 * Model loading and backends: open a model package (manifest + files, verified against their
 * sha256), pick a backend by device name, and run the model's graphs through typed calls.
 *
 * @example
 * ```ts
 * import { createBackend, loadModelComponents, openModelPackage } from "@editmgt/editmgt/model";
 *
 * const model = await openModelPackage("https://example.com/models/editmgt-tiny/", {
 *   onProgress: (event) => console.log(`${event.packageLoaded} / ${event.packageTotal} bytes`),
 * });
 * const components = await loadModelComponents(model, await createBackend("wasm"));
 * const tokens = await components.vqEncode(new Float32Array(3 * 64 * 64).fill(0.5));
 * await components.release();
 * ```
 *
 * @module
 */

export {
  type Backend,
  type BackendCapabilities,
  DEVICE_NAMES,
  type DeviceName,
  type ExternalDataFile,
  type GraphBytes,
  type ModelSession,
  type ModelTensor,
  type NamedTensors,
  type TensorArrays,
  type TensorType,
} from "./backend.ts";
export {
  type GraphKind,
  type GuidanceText,
  type LoadComponentsOptions,
  loadModelComponents,
  type ModelComponents,
  type TextFeatures,
  type TextTokenIds,
} from "./components.ts";
export { manifestUrl, parseManifest } from "./manifest.ts";
export {
  chooseSessionPolicy,
  formatBytes,
  MEMORY_REQUESTS,
  type MemoryRequest,
  RELEASE_ABOVE_BYTES,
  residentBytes,
  sessionBytes,
  type SessionPolicy,
} from "./memory.ts";
export {
  ortBackend,
  type OrtBackendConfig,
  type OrtRuntime,
  type OrtSessionLoader,
} from "./ort_adapter.ts";
export {
  type DownloadEvent,
  type ModelLoadEvent,
  type ModelPackage,
  type ModelPackageOptions,
  openModelPackage,
  type PackageFile,
  type VerifiedFile,
} from "./package.ts";
export { type BackendFactory, type BackendOptions, createBackend } from "./select.ts";
export type { NodeBackendOptions } from "./backends/node.ts";
export type { WasmBackendOptions } from "./backends/wasm.ts";
export type { WebGpuBackendOptions } from "./backends/webgpu.ts";
export { fetchSource, type FileRequest, type FileSource } from "./source.ts";
export {
  baseDtype,
  chooseVariant,
  chooseVariants,
  describeDtypes,
  type DtypeRequest,
  dtypesOf,
  offeredDtypes,
  parseDtypeRequest,
  type VariantChoice,
  type VariantOptions,
} from "./variants.ts";
export {
  COMPONENT_DTYPES,
  COMPONENT_KINDS,
  type ComponentDtype,
  type ComponentKind,
  type Manifest,
  MANIFEST_FORMAT,
  type ManifestComponent,
  type ManifestDefaults,
  type ManifestDevice,
  type ManifestFile,
  type ManifestFileParts,
  type ManifestGrid,
  type ManifestVariant,
} from "../schema/manifest.ts";
export type { StepInput, StepModel, StepOutput } from "../sampler/model.ts";
export { float32Scalar, float32Tensor, int64Tensor, readFloat32, readTokenIds } from "./tensors.ts";
export { type FileExpectation, sha256Hex, verifyFile } from "./verify.ts";
