/**
 * How much memory a model's sessions take, and whether a pipeline keeps them all alive or loads
 * each graph for its phase and releases it after (DESIGN section 12). Pure arithmetic over the
 * manifest's sizes: the SDK decides with it before it downloads anything.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type { VariantChoice } from "./variants.ts";

/**
 * How sessions live. `"keep"`: every graph's session is made when the model loads and lives
 * until `dispose` (fast repeated edits; memory is the sum of all graphs). `"release"`: a graph's
 * session is made when its phase starts (text encoders, VQ encoder, transformer steps, VQ
 * decoder) and released when it ends (memory is the largest graph, not the sum).
 */
export type SessionPolicy = "keep" | "release";

/** A caller's choice of {@linkcode SessionPolicy}, or `"auto"`: decided by the model's size. */
export type MemoryRequest = "auto" | SessionPolicy;

/** Every {@linkcode MemoryRequest}. */
export const MEMORY_REQUESTS: readonly MemoryRequest[] = ["auto", "keep", "release"];

/**
 * `"auto"` releases sessions when the chosen graphs together need more than this many bytes
 * (2 GiB): a model that big is loaded once per phase rather than held whole.
 */
export const RELEASE_ABOVE_BYTES: number = 2 * 1024 ** 3;

/**
 * Bytes a session of `choice` needs: its measured `peakBytes` when the manifest has it, else the
 * bytes of its files (the weights alone: a lower bound).
 *
 * @example
 * ```ts
 * import { sessionBytes } from "@editmgt/editmgt/model";
 *
 * const bytes = sessionBytes({
 *   component: "transformer",
 *   dtype: "fp32",
 *   files: [{ path: "transformer.onnx", sha256: "ab".repeat(32), bytes: 4_000_000_000 }],
 *   variant: false,
 *   requested: "auto",
 *   reason: "auto on wasm: the fp32 base",
 * });
 * console.log(bytes); // 4000000000
 * ```
 */
export function sessionBytes(choice: VariantChoice): number {
  return choice.peakBytes ?? choice.files.reduce((sum, file) => sum + file.bytes, 0);
}

/**
 * The bytes alive at once under `policy`: the sum of every graph's {@linkcode sessionBytes}
 * for `"keep"`, the largest one for `"release"`.
 */
export function residentBytes(choices: readonly VariantChoice[], policy: SessionPolicy): number {
  const sizes = choices.map(sessionBytes);
  return policy === "keep" ? sizes.reduce((sum, bytes) => sum + bytes, 0) : Math.max(0, ...sizes);
}

/**
 * The policy for a request: `"keep"` and `"release"` as asked; `"auto"` releases when keeping
 * every graph would need more than {@linkcode RELEASE_ABOVE_BYTES}.
 *
 * @throws {EditMGTError} `invalid_option` for anything but "auto", "keep" or "release".
 *
 * @example
 * ```ts
 * import { chooseSessionPolicy } from "@editmgt/editmgt/model";
 *
 * console.log(chooseSessionPolicy("auto", [])); // "keep"
 * ```
 */
export function chooseSessionPolicy(
  request: MemoryRequest,
  choices: readonly VariantChoice[],
): SessionPolicy {
  if (!MEMORY_REQUESTS.includes(request)) {
    throw new EditMGTError(
      "invalid_option",
      `memory must be one of ${MEMORY_REQUESTS.join(", ")}; got ${JSON.stringify(request)}`,
      { details: { option: "memory" } },
    );
  }
  if (request !== "auto") return request;
  return residentBytes(choices, "keep") > RELEASE_ABOVE_BYTES ? "release" : "keep";
}

/**
 * A byte count in words, in binary units (as WASM heaps, WebGPU limits and
 * `navigator.deviceMemory` are): "3.9 GiB", "600 MiB".
 */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}
