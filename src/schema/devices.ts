/**
 * The one list of devices a model runs on. The backend's `DeviceName`, the manifest's variant
 * `devices`, the server's OpenAPI document, the CLI's `--device` and the browser SDK's device
 * types all derive from it: to add a device, add it here (and its backend in `src/model`). No
 * import, so that a browser bundle holding it stays small.
 *
 * @example
 * ```ts
 * import { BROWSER_DEVICES, DEVICE_NAMES } from "@editmgt/editmgt/schema";
 *
 * console.log(DEVICE_NAMES.join(", ")); // node, wasm, webgpu
 * console.log(BROWSER_DEVICES.includes("webgpu")); // true
 * ```
 *
 * @module
 */

/**
 * Every device: `"node"` is onnxruntime-node on the CPU (Deno, Node.js), `"wasm"` and
 * `"webgpu"` are onnxruntime-web's WASM and WebGPU builds.
 */
export const DEVICE_NAMES = ["node", "wasm", "webgpu"] as const;

/** Where a model runs (see {@linkcode DEVICE_NAMES}). */
export type DeviceName = typeof DEVICE_NAMES[number];

/** The devices a browser offers, in the order `device: "auto"` tries them. */
export const BROWSER_DEVICES = ["webgpu", "wasm"] as const satisfies readonly DeviceName[];

/** A device a browser offers (see {@linkcode BROWSER_DEVICES}). */
export type BrowserDevice = typeof BROWSER_DEVICES[number];

/**
 * Whether `name` is one of {@linkcode DEVICE_NAMES}.
 *
 * @example
 * ```ts
 * import { isDeviceName } from "@editmgt/editmgt/schema";
 *
 * console.log(isDeviceName("wasm"), isDeviceName("cuda")); // true false
 * ```
 */
export function isDeviceName(name: unknown): name is DeviceName {
  return (DEVICE_NAMES as readonly unknown[]).includes(name);
}
