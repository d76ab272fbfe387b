/**
 * The engine: a model loaded on a device behind one interface, hosted in a Worker (Deno Worker
 * or Web Worker, one message protocol) so the caller's thread never blocks on `session.run`,
 * or in the caller's thread. This entry is for Deno and Node.js (`createEngine` starts the Deno
 * worker and knows the native `"node"` device); browsers use `@editmgt/editmgt/sdk`, or
 * `createEngineWith` with a worker of their own. Cancellation is forwarded to the worker; errors come back as
 * `EditMGTError`s with their stable codes.
 *
 * @example
 * ```ts
 * import { createEngine } from "@editmgt/editmgt/engine";
 *
 * const engine = createEngine({ manifest: "models/editmgt-tiny", device: "wasm" });
 * await engine.ready;
 * await engine.dispose();
 * ```
 *
 * @module
 */

export { createEngine } from "./deno.ts";
export {
  createEngineWith,
  type Engine,
  type EngineOptions,
  type EnginePlatform,
  type EngineReloadOptions,
} from "./engine.ts";
export {
  createPipelineHost,
  type HostPort,
  type PipelineHostOptions,
  type RequestHandler,
} from "./host.ts";
export type {
  CancelMessage,
  DisposedMessage,
  DisposeMessage,
  EditMessage,
  EditResultMessage,
  EngineRequest,
  EngineResponse,
  ErrorMessage,
  InitMessage,
  PreviewRegionMessage,
  PreviewRegionResultMessage,
  ProgressMessage,
  ReadyMessage,
} from "./protocol.ts";
// The pipeline's and the errors' types, as the engine's options, results and messages name them.
export type * from "../pipeline/mod.ts";
export type * from "../errors/mod.ts";
