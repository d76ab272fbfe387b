/**
 * Capabilities a machine may lack (Chromium, a WebGPU feature). Outside CI a test that needs a
 * missing one is ignored, and the reason and the way to enable it are printed once; in CI (env
 * `CI=true`, as GitHub Actions and `.ci/run` set it) the machine is meant to have them all, so a
 * missing one is an error instead.
 *
 * @module
 */

/** Whether this run is CI, where every capability the tests need must be present. */
export const IN_CI = Deno.env.get("CI") === "true";

const printed = new Set<string>();

/**
 * Whether the tests named `tests` must be ignored because `missing` (the reason, or `null` when the
 * capability is there). Prints the reason and `enable` (how to get it) once per reason.
 *
 * @throws {Error} in CI, when the capability is missing.
 *
 * @example
 * ```ts
 * import { ignoreWithout } from "./capability.ts";
 *
 * const missing = (await navigator.gpu?.requestAdapter()) ? null : "no WebGPU adapter";
 * Deno.test({
 *   name: "needs WebGPU",
 *   ignore: ignoreWithout("the WebGPU tests", missing, "apt-get install mesa-vulkan-drivers"),
 *   fn() {},
 * });
 * ```
 */
export function ignoreWithout(tests: string, missing: string | null, enable: string): boolean {
  if (missing === null) return false;
  if (IN_CI) throw new Error(`${tests} cannot run in CI: ${missing}; ${enable}`);
  if (!printed.has(missing)) {
    printed.add(missing);
    console.log(`${tests} ignored: ${missing}; to run them, ${enable} (with CI=true this fails)`);
  }
  return true;
}
