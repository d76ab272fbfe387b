/**
 * The `Prefer` request header (RFC 7240) as the edit routes read it: `wait` (answer with the
 * result) or `wait=N` (wait at most N seconds, then answer 202).
 *
 * @module
 */

/**
 * How long the client wants to wait for the result, in milliseconds (capped at `maxWaitMs`),
 * or null when it did not ask to wait. Preferences other than `wait` are ignored, as RFC 7240
 * allows.
 *
 * @example
 * ```ts
 * import { preferredWaitMs } from "./prefer.ts";
 *
 * console.log(preferredWaitMs("wait", 60_000)); // 60000
 * console.log(preferredWaitMs("respond-async, wait=5", 60_000)); // 5000
 * console.log(preferredWaitMs(undefined, 60_000)); // null
 * ```
 */
export function preferredWaitMs(header: string | undefined, maxWaitMs: number): number | null {
  for (const preference of (header ?? "").split(",")) {
    const [name, value] = preference.split(";")[0].split("=").map((part) => part.trim());
    if (name.toLowerCase() !== "wait") continue;
    if (value === undefined || value === "") return maxWaitMs;
    const seconds = Number(value.replace(/^"|"$/g, ""));
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, maxWaitMs);
  }
  return null;
}
