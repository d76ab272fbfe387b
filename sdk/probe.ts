/**
 * What this browser can run, found out before any model byte is downloaded: the WebGPU adapter
 * (with `shader-f16` and buffer limits), WebAssembly SIMD, threads and heap size, the device's
 * memory, cross-origin isolation, Cache Storage and the storage quota. {@linkcode chooseDevice}
 * turns a report into a device and says why; {@linkcode fitVariants} checks that the chosen
 * weights fit the device (largest tensor, WASM heap, device memory) and picks smaller ones, or
 * refuses, before anything is downloaded.
 *
 * @module
 */

import { EditMGTError } from "../src/errors/mod.ts";
import type { BackendCapabilities } from "../src/model/backend.ts";
import {
  chooseSessionPolicy,
  formatBytes,
  type MemoryRequest,
  residentBytes,
  sessionBytes,
  type SessionPolicy,
} from "../src/model/memory.ts";
import {
  chooseVariant,
  chooseVariants,
  type DtypeRequest,
  offeredDtypes,
  type VariantChoice,
} from "../src/model/variants.ts";
import type { BrowserDevice } from "../src/schema/devices.ts";
import type { ComponentDtype, Manifest } from "../src/schema/manifest.ts";
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
  /** Bytes one WebAssembly heap can address: 4 GiB for wasm32, which onnxruntime-web uses. */
  maxMemoryBytes: number;
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
  /**
   * The device's memory in GiB as `navigator.deviceMemory` reports it (rounded down to a power
   * of two and capped, at 8 in Chrome), where the browser has it.
   */
  deviceMemory?: number;
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
  const deviceMemory = (globalThis.navigator as { deviceMemory?: number } | undefined)
    ?.deviceMemory;
  return {
    webgpu,
    wasm: probeWasm(crossOriginIsolated),
    crossOriginIsolated,
    ...(typeof deviceMemory === "number" && deviceMemory > 0 ? { deviceMemory } : {}),
    storage,
  };
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
  return { available, threads, cores, maxMemoryBytes: WASM32_MEMORY_BYTES };
}

async function probeStorage(): Promise<StorageReport> {
  const cacheStorage = typeof globalThis.caches?.open === "function";
  const estimate = await storageEstimate();
  return estimate === null
    ? { cacheStorage }
    : { cacheStorage, quota: estimate.quota, usage: estimate.usage };
}

/** Where an editor runs its model: a device of the browser, or the remote edit API. */
export type EditorDevice = BrowserDevice | "remote";

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
  device: BrowserDevice,
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
  options: { device: BrowserDevice; dtype?: DtypeRequest },
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

/** Bytes one wasm32 heap can address (4 GiB): every onnxruntime-web session lives in one. */
export const WASM32_MEMORY_BYTES: number = 4 * 1024 ** 3;

/** The most `navigator.deviceMemory` reports (Chrome): a device that reports it may have more. */
const DEVICE_MEMORY_CAP = 8;

/** Something the device cannot hold, and which graph component it is about (null: the model). */
export interface FitProblem {
  /** The component whose weights do not fit, or null when the model as a whole does not. */
  component: string | null;
  /** What is missing, in words. */
  message: string;
}

/**
 * What of `choices` a local `device` cannot hold, as the report says, with sessions living by
 * `policy`:
 *
 * - WebGPU: each graph's largest tensor (`maxTensorBytes`, where the manifest has it) must fit
 *   in one buffer (`maxBufferSize`) bound as storage (`maxStorageBufferBindingSize`), and each
 *   graph's files in the WASM heap that onnxruntime-web reads a graph into;
 * - WASM: the sessions alive at once (every graph under `"keep"`, the largest under
 *   `"release"`; `peakBytes` where measured, else file bytes) must fit in one 4 GiB heap;
 * - both: the sessions alive at once must fit in `navigator.deviceMemory`, where the browser
 *   reports it below its cap.
 *
 * @example
 * ```ts
 * import { chooseVariants, parseManifest } from "@editmgt/editmgt/model";
 * import { memoryProblems, probe } from "@editmgt/editmgt/sdk";
 *
 * const manifest = parseManifest(await (await fetch("/models/editmgt-tiny/manifest.json")).json());
 * const choices = chooseVariants(manifest, { device: "wasm", capabilities: { fp16: true } });
 * console.log(memoryProblems(await probe(), "wasm", choices, "keep")); // [] when it fits
 * ```
 */
export function memoryProblems(
  report: ProbeReport,
  device: BrowserDevice,
  choices: readonly VariantChoice[],
  policy: SessionPolicy,
): FitProblem[] {
  const problems: FitProblem[] = [];
  const heap = report.wasm.maxMemoryBytes;
  const label = (choice: VariantChoice) => `the ${choice.component} (${choice.dtype})`;
  if (device === "webgpu") {
    const limits = report.webgpu.limits;
    for (const choice of choices) {
      if (limits !== undefined && choice.maxTensorBytes !== undefined) {
        const [limit, name] = limits.maxStorageBufferBindingSize <= limits.maxBufferSize
          ? [limits.maxStorageBufferBindingSize, "maxStorageBufferBindingSize"]
          : [limits.maxBufferSize, "maxBufferSize"];
        if (choice.maxTensorBytes > limit) {
          problems.push({
            component: choice.component,
            message: `${label(choice)} has a ${
              formatBytes(choice.maxTensorBytes)
            } tensor; this WebGPU adapter binds at most ${
              formatBytes(limit)
            } in one buffer (${name})`,
          });
        }
      }
      const fileBytes = choice.files.reduce((sum, file) => sum + file.bytes, 0);
      if (fileBytes > heap) {
        problems.push({
          component: choice.component,
          message: `${label(choice)} is ${
            formatBytes(fileBytes)
          } of files; onnxruntime-web reads a graph into its WASM heap, which can address ${
            formatBytes(heap)
          }`,
        });
      }
    }
  } else if (residentBytes(choices, policy) > heap) {
    if (policy === "release") {
      const largest = choices.reduce((a, b) => (sessionBytes(b) > sessionBytes(a) ? b : a));
      problems.push({
        component: largest.component,
        message: `${label(largest)} needs ${
          formatBytes(sessionBytes(largest))
        } in one WASM heap; WASM can address ${formatBytes(heap)}`,
      });
    } else {
      problems.push({
        component: null,
        message: `the model's graphs, all kept loaded (memory "keep"), need ${
          formatBytes(residentBytes(choices, policy))
        } in one WASM heap; WASM can address ${formatBytes(heap)}`,
      });
    }
  }
  const { deviceMemory } = report;
  const resident = residentBytes(choices, policy);
  if (
    deviceMemory !== undefined && deviceMemory < DEVICE_MEMORY_CAP &&
    resident > deviceMemory * 1024 ** 3
  ) {
    problems.push({
      component: null,
      message: `the model needs about ${
        formatBytes(resident)
      } of memory at once; this device reports ${deviceMemory} GiB (navigator.deviceMemory)`,
    });
  }
  return problems;
}

/** Options of {@linkcode fitVariants}. */
export interface FitOptions {
  /** The local device to run on. */
  device: BrowserDevice;
  /** The weights asked for (see `DtypeRequest`); default `"auto"`. */
  dtype?: DtypeRequest;
  /** How sessions live (see `MemoryRequest`); default `"auto"`. */
  memory?: MemoryRequest;
}

/** The weights a device will load, checked against what it can hold. */
export interface VariantPlan {
  /** Per graph component, the files to download and load. */
  variants: VariantChoice[];
  /** How the sessions will live. */
  memory: SessionPolicy;
  /** What did not fit and which smaller weights were taken instead; empty when all fitted. */
  note: string;
}

/**
 * The weights to load on `device`, checked against what the probe found (see
 * {@linkcode memoryProblems}) before anything is downloaded. When the suggested weights do not
 * fit, components left to `"auto"` step down to their next smaller weights (the component a
 * problem names first, else the largest), until they fit.
 *
 * @throws {EditMGTError} `backend_unavailable` when nothing offered fits: the message says what
 * is missing and what would help (another device, another dtype, `memory: "release"`); as
 * `chooseVariants` for a `dtype` the model cannot satisfy.
 *
 * @example
 * ```ts
 * import { fitVariants, probe } from "@editmgt/editmgt/sdk";
 *
 * const manifest = await (await fetch("/models/editmgt/manifest.json")).json();
 * const plan = fitVariants(await probe(), manifest, { device: "wasm" });
 * console.log(plan.variants.map((choice) => `${choice.component} ${choice.dtype}`), plan.note);
 * ```
 */
export function fitVariants(
  report: ProbeReport,
  manifest: Manifest,
  options: FitOptions,
): VariantPlan {
  const { problems, ...plan } = planVariants(report, manifest, options);
  if (problems.length > 0) {
    const messages = problems.map((problem) => problem.message);
    throw new EditMGTError(
      "backend_unavailable",
      `${messages.join("; ")}; ${remedies(report, manifest, options, problems, plan.memory)}`,
      { details: { device: options.device, problems: messages } },
    );
  }
  return plan;
}

/** {@linkcode fitVariants} without the refusal: the plan, and what still does not fit. */
function planVariants(
  report: ProbeReport,
  manifest: Manifest,
  options: FitOptions,
): VariantPlan & { problems: FitProblem[] } {
  const { device } = options;
  const capabilities = deviceCapabilities(report, device);
  const check = (choices: readonly VariantChoice[]) => {
    const memory = chooseSessionPolicy(options.memory ?? "auto", choices);
    return { memory, problems: memoryProblems(report, device, choices, memory) };
  };
  let variants = suggestVariants(report, manifest, options);
  let state = check(variants);
  const first = state.problems;
  const steps: string[] = [];
  while (state.problems.length > 0) {
    const named = new Set(state.problems.map((problem) => problem.component));
    const candidates = variants
      .filter((choice) => choice.requested === "auto")
      .map((choice) => ({ choice, smaller: nextSmaller(manifest, choice, device, capabilities) }))
      .filter((candidate) => candidate.smaller !== null)
      .sort((a, b) =>
        Number(named.has(b.choice.component)) - Number(named.has(a.choice.component)) ||
        sessionBytes(b.choice) - sessionBytes(a.choice)
      );
    if (candidates.length === 0) break;
    const { choice, smaller } = candidates[0];
    variants = variants.map((candidate) => candidate === choice ? smaller! : candidate);
    steps.push(`${choice.component} ${smaller!.dtype}`);
    state = check(variants);
  }
  const note = steps.length === 0 || state.problems.length > 0
    ? ""
    : `${first.map((problem) => problem.message).join("; ")}: using ${steps.join(", ")}`;
  return { variants, memory: state.memory, note, problems: state.problems };
}

/** The component's next smaller weights the device can run (by session bytes), or null. */
function nextSmaller(
  manifest: Manifest,
  choice: VariantChoice,
  device: BrowserDevice,
  capabilities: BackendCapabilities,
): VariantChoice | null {
  const component = manifest.components.find((candidate) => candidate.name === choice.component)!;
  const current = sessionBytes(choice);
  const smaller = offeredDtypes(component)
    .filter((dtype) => dtype !== "fp16" || capabilities.fp16)
    .map((dtype) => chooseVariant(component, { device, capabilities, dtype }))
    .filter((candidate) => sessionBytes(candidate) < current)
    .sort((a, b) => sessionBytes(b) - sessionBytes(a));
  if (smaller.length === 0) return null;
  return {
    ...smaller[0],
    requested: "auto",
    reason: `auto on ${device}: the ${
      smaller[0].dtype
    } weights, as the ${choice.dtype} ones do not fit`,
  };
}

/** What would help when nothing fits: another device, smaller weights, releasing sessions. */
function remedies(
  report: ProbeReport,
  manifest: Manifest,
  options: FitOptions,
  problems: readonly FitProblem[],
  memory: SessionPolicy,
): string {
  const ways: string[] = [];
  const other = options.device === "wasm" ? "webgpu" : "wasm";
  const fitsOn = (fit: FitOptions) => {
    try {
      return planVariants(report, manifest, fit).problems.length === 0;
    } catch {
      return false;
    }
  };
  const available = other === "webgpu" ? report.webgpu.available : report.wasm.available;
  if (available && fitsOn({ ...options, device: other })) ways.push(`device ${other}`);
  const smallest = new Set<ComponentDtype>();
  for (const name of problems.map((problem) => problem.component)) {
    const component = manifest.components.find((candidate) => candidate.name === name);
    if (component === undefined) continue;
    const dtypes = offeredDtypes(component);
    const sizes = dtypes.map((dtype) =>
      sessionBytes(
        chooseVariant(component, { device: options.device, capabilities: { fp16: true }, dtype }),
      )
    );
    const best = dtypes[sizes.indexOf(Math.min(...sizes))];
    if (
      options.dtype !== undefined && options.dtype !== "auto" && fitsOn({ ...options, dtype: best })
    ) {
      smallest.add(best);
    }
  }
  ways.push(...[...smallest].map((dtype) => `dtype ${dtype}`));
  if (memory === "keep" && fitsOn({ ...options, memory: "release" })) ways.push('memory "release"');
  return ways.length === 0
    ? "this device cannot run this model: use the remote device"
    : `use ${ways.join(" or ")}`;
}
