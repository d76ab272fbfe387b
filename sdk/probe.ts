/**
 * What this browser can run, found out before any model byte is downloaded: the WebGPU adapter
 * (with `shader-f16` and buffer limits), WebAssembly SIMD and threads, cross-origin isolation,
 * Cache Storage and the storage quota. {@linkcode chooseDevice} turns a report into a device and
 * says why.
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";
import type { BackendCapabilities } from "../src/model/backend.ts";
import { chooseVariants, type DtypeRequest, type VariantChoice } from "../src/model/variants.ts";
import type { Manifest } from "../src/schema/manifest.ts";
import { storageEstimate } from "./dom.ts";

/** What {@linkcode probe} found about WebGPU. */
export interface WebGpuReport {
  /** Whether a WebGPU adapter was granted. */
  available: boolean;
  /** Why not, when not available. */
  reason?: string;
  /** Adapter vendor and architecture, as the browser reports them (may be empty). */
  adapter?: { vendor: string; architecture: string; description: string };
  /** Whether the adapter is a software fallback (such as SwiftShader). */
  fallback: boolean;
  /** Whether the adapter has the `shader-f16` feature (needed by fp16 models). */
  shaderF16: boolean;
  /** The adapter's largest buffer and storage-binding sizes in bytes. */
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

/** What {@linkcode probe} found about WebAssembly. */
export interface WasmReport {
  /** Whether WebAssembly with SIMD is available (onnxruntime-web needs SIMD). */
  available: boolean;
  /** Whether WASM threads can be used (SharedArrayBuffer in a cross-origin isolated page). */
  threads: boolean;
  /** Logical processors the browser reports. */
  cores: number;
}

/** What {@linkcode probe} found about storage. */
export interface StorageReport {
  /** Whether Cache Storage is available (it needs a secure context). */
  cacheStorage: boolean;
  /** Bytes the origin may store, when the browser says. */
  quota?: number;
  /** Bytes the origin stores now, when the browser says. */
  usage?: number;
}

/** Everything {@linkcode probe} found. */
export interface ProbeReport {
  /** WebGPU adapter and features. */
  webgpu: WebGpuReport;
  /** WebAssembly features. */
  wasm: WasmReport;
  /** Whether the page is cross-origin isolated (`crossOriginIsolated`). */
  crossOriginIsolated: boolean;
  /** Storage. */
  storage: StorageReport;
}

/**
 * Probes the runtime. Downloads nothing and creates no GPU device (only an adapter).
 *
 * @example
 * ```ts
 * import { probe } from "@editmgt/editmgt/sdk";
 *
 * const report = await probe();
 * console.log(report.webgpu.available, report.webgpu.shaderF16, report.storage.quota);
 * ```
 */
export async function probe(): Promise<ProbeReport> {
  const crossOriginIsolated = (globalThis as { crossOriginIsolated?: boolean })
    .crossOriginIsolated === true;
  const [webgpu, storage] = await Promise.all([probeWebGpu(), probeStorage()]);
  return { webgpu, wasm: probeWasm(crossOriginIsolated), crossOriginIsolated, storage };
}

async function probeWebGpu(): Promise<WebGpuReport> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  const unavailable = (reason: string): WebGpuReport => ({
    available: false,
    reason,
    fallback: false,
    shaderF16: false,
  });
  if (gpu === undefined) return unavailable("this browser has no WebGPU (navigator.gpu)");
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return unavailable(`requesting a WebGPU adapter failed: ${error}`);
  }
  if (adapter === null) return unavailable("WebGPU is present but the browser gave no adapter");
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean } | undefined;
  return {
    available: true,
    adapter: {
      vendor: info?.vendor ?? "",
      architecture: info?.architecture ?? "",
      description: info?.description ?? "",
    },
    fallback: info?.isFallbackAdapter === true || /swiftshader/i.test(info?.architecture ?? ""),
    shaderF16: adapter.features.has("shader-f16"),
    limits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
  };
}

/**
 * A WebAssembly module with one function that returns a v128 (`i32.const 0; i8x16.splat`): it
 * validates only where SIMD is supported.
 */
const SIMD_PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version 1
  0x01,
  0x05,
  0x01,
  0x60,
  0x00,
  0x01,
  0x7b, // type section: () -> v128
  0x03,
  0x02,
  0x01,
  0x00, // function section: one function of type 0
  0x0a,
  0x08,
  0x01,
  0x06,
  0x00,
  0x41,
  0x00,
  0xfd,
  0x0f,
  0x0b, // code: i32.const 0, i8x16.splat
]);

function probeWasm(crossOriginIsolated: boolean): WasmReport {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  const available = typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  const threads = available && crossOriginIsolated && typeof SharedArrayBuffer === "function";
  return { available, threads, cores };
}

async function probeStorage(): Promise<StorageReport> {
  const cacheStorage = typeof globalThis.caches?.open === "function";
  const estimate = await storageEstimate();
  return estimate === null
    ? { cacheStorage }
    : { cacheStorage, quota: estimate.quota, usage: estimate.usage };
}

/** Where an editor runs its model. */
export type EditorDevice = "webgpu" | "wasm" | "remote";

/** What the model needs from the device, read from its manifest. */
export interface ModelNeeds {
  /**
   * Whether the weights asked for include fp16 ones that have no other variant (WebGPU then
   * needs `shader-f16`); see {@linkcode modelNeeds}.
   */
  fp16: boolean;
}

/** What the backend of a local `device` can run, as the report says. */
export function deviceCapabilities(
  report: ProbeReport,
  device: "webgpu" | "wasm",
): BackendCapabilities {
  return { fp16: device === "wasm" || report.webgpu.shaderF16 };
}

/**
 * What `manifest` needs from the device for the `dtype` asked for: fp16 when WebGPU without
 * `shader-f16` could not load it (a component whose only weights are fp16, or fp16 asked for).
 *
 * @throws {EditMGTError} `invalid_option` / `invalid_input` for a `dtype` the model cannot
 * satisfy on any device, before anything is downloaded.
 */
export function modelNeeds(manifest: Manifest, dtype: DtypeRequest = "auto"): ModelNeeds {
  try {
    chooseVariants(manifest, { device: "webgpu", capabilities: { fp16: false }, dtype });
    return { fp16: false };
  } catch (error) {
    if (error instanceof EditMGTError && error.code === "backend_unavailable") {
      return { fp16: true };
    }
    throw error;
  }
}

/**
 * The weights of each graph component that a local `device` would load, suggested from the
 * probe before anything is downloaded (`dtype: "auto"`: the variant the manifest lists for the
 * device, fp16 on WebGPU only with `shader-f16`).
 *
 * @throws {EditMGTError} as `chooseVariants` (`invalid_option`, `invalid_input`,
 * `backend_unavailable`).
 *
 * @example
 * ```ts
 * import { probe, suggestVariants } from "@editmgt/editmgt/sdk";
 *
 * const manifest = await (await fetch("/models/editmgt-tiny/manifest.json")).json();
 * for (const choice of suggestVariants(await probe(), manifest, { device: "webgpu" })) {
 *   console.log(choice.component, choice.dtype, choice.peakBytes, choice.reason);
 * }
 * ```
 */
export function suggestVariants(
  report: ProbeReport,
  manifest: Manifest,
  options: { device: "webgpu" | "wasm"; dtype?: DtypeRequest },
): VariantChoice[] {
  return chooseVariants(manifest, {
    device: options.device,
    capabilities: deviceCapabilities(report, options.device),
    dtype: options.dtype,
  });
}

/** A device and why it was picked. */
export interface DeviceChoice {
  /** The device. */
  device: EditorDevice;
  /** Why, in words, for logs and the demo page. */
  reason: string;
}

/**
 * Picks a device for `"auto"`: WebGPU on a hardware adapter that can run the model, else WASM,
 * else the remote edit API. A software WebGPU adapter (SwiftShader) loses to WASM.
 *
 * @example
 * ```ts
 * import { chooseDevice, probe } from "@editmgt/editmgt/sdk";
 *
 * const { device, reason } = chooseDevice(await probe(), { fp16: false });
 * console.log(device, reason);
 * ```
 */
export function chooseDevice(report: ProbeReport, needs: ModelNeeds): DeviceChoice {
  const { webgpu, wasm } = report;
  const wasmNote = wasm.threads
    ? `WASM with ${Math.min(4, wasm.cores)} threads`
    : "WASM on 1 thread (the page is not cross-origin isolated)";
  let gpuProblem: string;
  if (!webgpu.available) gpuProblem = webgpu.reason ?? "no WebGPU adapter";
  else if (needs.fp16 && !webgpu.shaderF16) {
    gpuProblem = "the WebGPU adapter lacks shader-f16, which the fp16 weights of this model need";
  } else if (webgpu.fallback) gpuProblem = "the WebGPU adapter is a software fallback";
  else {
    const name = [webgpu.adapter?.vendor, webgpu.adapter?.architecture].filter(Boolean).join(" ");
    return { device: "webgpu", reason: `WebGPU adapter ${name || "(unnamed)"}` };
  }
  if (wasm.available) return { device: "wasm", reason: `${gpuProblem}; using ${wasmNote}` };
  return {
    device: "remote",
    reason: `${gpuProblem} and WebAssembly SIMD is missing; using the remote edit API`,
  };
}
