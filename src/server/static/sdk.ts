/**
 * The browser SDK bundle served at `/sdk/`: the configured folder (`static.sdk`, default
 * dist/sdk) when it is there, else a bundle built on the first request from the package's own
 * sources (sdk/build.ts, Deno's bundler, in a process of its own) into a temporary folder,
 * which `close` removes. So a server started without `deno task build:sdk` (from a copy of the
 * package on disk, or installed from JSR) still serves the SDK, once the build has run (a few
 * seconds).
 *
 * The build needs `--allow-run` (it runs `deno bundle`), `--allow-read` and `--allow-write`.
 * It works from a package on disk and from one installed from JSR (read over https: its
 * published sdk/build.ts runs from there, and the npm packages it needs are installed into a
 * working folder). Every failure answers `503` with what to do.
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
 * default this one) in a Deno process that may only read, write `outdir` (and a working folder)
 * and run Deno (for `deno bundle`). A package on disk is bundled in its own folder, with its own
 * import map and node_modules. A package read over a URL (installed from JSR) runs its published
 * build.ts from that URL, in a temporary working folder where the npm packages the bundle needs
 * are installed (from Deno's cache, else the npm registry), removed afterwards.
 */
export async function buildFromPackage(outdir: string, root: URL = PACKAGE_ROOT): Promise<void> {
  const onDisk = root.protocol === "file:";
  const workdir = onDisk ? null : await Deno.makeTempDir({ prefix: "editmgt-sdk-work-" });
  const deno = Deno.execPath();
  try {
    const { success, stderr } = await new Deno.Command(deno, {
      args: [
        "run",
        "--allow-read",
        `--allow-write=${[outdir, workdir].filter((dir) => dir !== null).join(",")}`,
        `--allow-run=${deno}`,
        onDisk ? "sdk/build.ts" : new URL("sdk/build.ts", root).href,
        outdir,
        ...(workdir === null ? [] : ["--workdir", workdir]),
      ],
      cwd: workdir ?? fileURLToPath(root),
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) {
      throw new Error(`sdk/build.ts failed: ${new TextDecoder().decode(stderr).trim()}`);
    }
  } finally {
    if (workdir !== null) await Deno.remove(workdir, { recursive: true }).catch(() => {});
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
