/**
 * Integrity checks: every model file is compared with the sha256 and size in its manifest
 * before any session is made from it. Uses WebCrypto, so it runs in browsers and Deno alike.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import { sizeMismatchError } from "./source.ts";

/**
 * The lowercase hex sha256 of `bytes`.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "@editmgt/editmgt/model";
 *
 * console.log(await sha256Hex(new TextEncoder().encode("abc")));
 * // ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** What the manifest promises about one file. */
export interface FileExpectation {
  /** Lowercase hex sha256. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
}

/**
 * Rejects with `hash_mismatch` unless `bytes` has the expected size and sha256.
 *
 * @example
 * ```ts
 * import { verifyFile } from "@editmgt/editmgt/model";
 *
 * const bytes = new TextEncoder().encode("abc");
 * await verifyFile(new URL("https://example.com/a.txt"), bytes, {
 *   bytes: 3,
 *   sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * });
 * ```
 */
export async function verifyFile(
  url: URL,
  bytes: Uint8Array,
  expected: FileExpectation,
): Promise<void> {
  if (bytes.byteLength !== expected.bytes) {
    throw sizeMismatchError(url, expected.bytes, bytes.byteLength);
  }
  const actual = await sha256Hex(bytes);
  if (actual !== expected.sha256.toLowerCase()) {
    throw new EditMGTError(
      "hash_mismatch",
      `${url.href} has sha256 ${actual} but the manifest says ${expected.sha256}; the file is corrupt or from another model version`,
      { details: { url: url.href, expected: expected.sha256, actual } },
    );
  }
}
