/**
 * The engine in Deno: {@linkcode createEngine} hosts the pipeline in a Deno Worker running
 * `worker.ts` beside this file, reads local model folders from disk and knows the native
 * `"node"` device. A Deno-only module, apart from the engine's core (`engine.ts`), so that
 * browser bundles never meet it.
 *
 * @module
 */

import { createBackend, denoSource } from "../model/deno.ts";
import { createEngineWith, type Engine, type EngineOptions } from "./engine.ts";

/**
 * The platform's Worker, kept at load time: onnxruntime-web's WASM runtime, once it has made a
 * session, replaces `globalThis.Worker` in Deno with a `node:worker_threads` class (whose workers
 * have no `self`), which cannot host the engine's module worker.
 */
const PlatformWorker: typeof Worker = globalThis.Worker;

/**
 * Loads a model and returns an {@linkcode Engine}: in a Deno Worker by default, in the caller's
 * thread with `worker: false`. Loading starts at once; calls made before it finishes wait for it.
 *
 * @example
 * ```ts
 * import { createEngine } from "@editmgt/editmgt/engine";
 * import { decodeImage } from "@editmgt/editmgt/image";
 *
 * const engine = createEngine({ manifest: "models/editmgt-tiny", device: "node" });
 * await engine.ready;
 * const image = await decodeImage(await Deno.readFile("in.png"));
 * const controller = new AbortController();
 * const result = await engine.edit(
 *   { image, instruction: "make the red circle blue", options: { seed: 1 } },
 *   { signal: controller.signal, onProgress: (event) => console.log(event.type) },
 * );
 * console.log(result.seed, result.timings.totalMs);
 * await engine.dispose();
 * ```
 */
export function createEngine(options: EngineOptions): Engine {
  return createEngineWith({
    startWorker: () =>
      new PlatformWorker(new URL("./worker.ts", import.meta.url), { type: "module" }),
    source: denoSource,
    createBackend,
  }, options);
}
