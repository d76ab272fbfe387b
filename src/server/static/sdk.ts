/**
 * The browser SDK bundle served at `/sdk/`: the configured folder (`static.sdk`, default
 * dist/sdk) when it is there, else a bundle built on the first request from the package's own
 * sources (sdk/build.ts, Deno's bundler, in a process of its own) into a temporary folder,
 * which `close` removes. So a server started without `deno task build:sdk` (or from a copy of
 * the package on disk) still serves the SDK, once the build has run (a few seconds).
 *
 * The build needs the package's files on disk and `--allow-run` (it runs `deno bundle`),
 * `--allow-read` and `--allow-write`. A package loaded from JSR is read over https and cannot be
 * bundled this way: there the SDK is built from a checkout of the repository and its folder
 * given as `static.sdk`. Every failure answers `503` with what to do.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { EditMGTError } from "../../errors/mod.ts";
import type { Logger } from "../logging/index.ts";

/** Bundles the SDK into the (existing, empty) folder `outdir`. */
export type SdkBuilder = (outdir: string) => Promise<unknown>;

/** Options of {@linkcode SdkBuild}. */
export interface SdkBuildOptions {
  /** The configured SDK folder (`static.sdk`) that is missing, for the log and the errors. */
  missing: string;
  /** Builds the SDK when the folder is missing (default {@linkcode buildFromPackage}). */
  build?: SdkBuilder;
  /** Where the build is logged. */
  log: Logger;
  /** Longest a request waits for a build in progress (default 30 s); then `503 busy`. */
  maxWaitMs?: number;
}

/** The root of this package: the folder holding sdk/ and src/, or its https URL under JSR. */
const PACKAGE_ROOT = new URL("../../../", import.meta.url);

/**
 * The default {@linkcode SdkBuilder}: runs the package's sdk/build.ts (the package at `root`,
 * default this one) in a Deno process that may only read, write `outdir` and run Deno (for
 * `deno bundle`). Throws `backend_unavailable` when the package is not on disk (loaded from JSR
 * or another URL).
 */
export async function buildFromPackage(outdir: string, root: URL = PACKAGE_ROOT): Promise<void> {
  if (root.protocol !== "file:") {
    throw new EditMGTError(
      "backend_unavailable",
      `this package was loaded from ${root.href}, and the SDK bundler needs the ` +
        "package's files on disk. Build the SDK from a checkout of the repository at the same " +
        "version (`deno task build:sdk` writes dist/sdk) and give that folder to createApp as " +
        "`static: { sdk: FOLDER }`",
    );
  }
  const deno = Deno.execPath();
  const { success, stderr } = await new Deno.Command(deno, {
    args: [
      "run",
      "--allow-read",
      `--allow-write=${outdir}`,
      `--allow-run=${deno}`,
      "sdk/build.ts",
      outdir,
    ],
    cwd: fileURLToPath(root),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`sdk/build.ts failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
}

/** An SDK bundle built on demand, once, into a temporary folder (see the module doc). */
export class SdkBuild {
  readonly #options: SdkBuildOptions;
  /** The build, once started: resolves with its folder, or rejects for good. */
  #build: Promise<string> | null = null;
  #built: string | null = null;

  /** A build that starts on the first {@linkcode SdkBuild.folder} call. */
  constructor(options: SdkBuildOptions) {
    this.#options = options;
  }

  /**
   * The folder of the built SDK, starting the build on the first call. Throws `busy` (with
   * `retryAfter`) while the build runs past `maxWaitMs`, and `backend_unavailable` with the
   * reason and the remedy when it failed (a failed build is not retried: fix, then restart).
   */
  async folder(): Promise<string> {
    if (this.#built !== null) return this.#built;
    this.#build ??= this.#run();
    const maxWaitMs = this.#options.maxWaitMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() =>
        reject(
          new EditMGTError(
            "busy",
            `the SDK is being built (the folder "${this.#options.missing}" is missing); ` +
              "try again in a few seconds",
            { details: { retryAfter: 5 } },
          ),
        ), maxWaitMs);
    });
    try {
      return await Promise.race([this.#build, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Removes the folder the SDK was built into, if any. */
  async close(): Promise<void> {
    const folder = await this.#build?.catch(() => null);
    if (folder) await Deno.remove(folder, { recursive: true }).catch(() => {});
  }

  async #run(): Promise<string> {
    const { log, missing } = this.#options;
    const build = this.#options.build ?? ((outdir: string) => buildFromPackage(outdir));
    const started = performance.now();
    let outdir: string | null = null;
    try {
      outdir = await Deno.makeTempDir({ prefix: "editmgt-sdk-" });
      log({ level: "info", msg: "building the SDK", missing, outdir });
      await build(outdir);
      const ms = Math.round(performance.now() - started);
      log({ level: "info", msg: "SDK built", outdir, ms });
      this.#built = outdir;
      return outdir;
    } catch (cause) {
      if (outdir !== null) await Deno.remove(outdir, { recursive: true }).catch(() => {});
      const error = new EditMGTError(
        "backend_unavailable",
        `no SDK bundle in "${missing}", and building one failed: ${reason(cause)}`,
        { cause },
      );
      log({ level: "error", msg: "SDK build failed", error: error.message });
      throw error;
    }
  }
}

/** What went wrong, with the Deno flag a missing permission needs. */
function reason(cause: unknown): string {
  const message = String((cause as Error)?.message ?? cause);
  if (!(cause instanceof Deno.errors.NotCapable)) return message;
  return `${message}. The build runs \`deno bundle\` and writes a temporary folder: start the ` +
    "server with --allow-run --allow-read --allow-write (or -A), or build the SDK beforehand " +
    "(`deno task build:sdk`) and give its folder as `static: { sdk: FOLDER }`";
}
