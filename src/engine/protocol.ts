/**
 * The message protocol between an {@linkcode Engine} and the Worker that hosts its pipeline. The
 * same messages serve a browser Web Worker and a Deno Worker. Inputs are copied (the caller keeps
 * its buffers); results and previews are transferred. Errors travel as the JSON body of an
 * `EditMGTError`.
 *
 * @module
 */

import { EditMGTError, type ErrorBody } from "../errors/mod.ts";
import type { DeviceName } from "../model/backend.ts";
import type { EditInput, EditLocalization, EditProgress, EditResult } from "../pipeline/types.ts";
import type { BackendOptions } from "../model/select.ts";
import type { MemoryRequest } from "../model/memory.ts";
import type { DtypeRequest } from "../model/variants.ts";
import type { ComponentDtype } from "../schema/manifest.ts";

/** Loads the model in the worker: sent first, and again after `dispose` to load again. */
export interface InitMessage {
  /** Message kind. */
  type: "init";
  /** Absolute URL of the model's manifest.json. */
  manifest: string;
  /** Device to run on. */
  device: DeviceName;
  /** Options of the backend (threads, WASM paths). */
  backend?: BackendOptions;
  /** Which weights to load; default `"auto"`. */
  dtype?: DtypeRequest;
  /** How long sessions live; default `"auto"`. */
  memory?: MemoryRequest;
  /**
   * The browser model store to read files from (the SDK's OPFS or Cache Storage, by name and
   * kind), for hosts that know one; default: the host's own file source.
   */
  store?: { name: string; kind: string };
}

/** Runs an edit (`job` numbers the call). */
export interface EditMessage {
  /** Message kind. */
  type: "edit";
  /** Number of this call, echoed in every answer to it. */
  job: number;
  /** The edit. */
  input: EditInput;
}

/** Runs one step to get the localization map. */
export interface PreviewRegionMessage {
  /** Message kind. */
  type: "preview-region";
  /** Number of this call. */
  job: number;
  /** The edit whose region to preview. */
  input: EditInput;
}

/** Cancels a running or queued call. */
export interface CancelMessage {
  /** Message kind. */
  type: "cancel";
  /** The call to cancel. */
  job: number;
}

/**
 * Releases every session and cancels a load under way; the worker answers `disposed`, and can
 * then be terminated or load a model again on a new `init` (the engine's `unload`/`reload`).
 */
export interface DisposeMessage {
  /** Message kind. */
  type: "dispose";
}

/** What the engine sends to the worker. */
export type EngineRequest =
  | InitMessage
  | EditMessage
  | PreviewRegionMessage
  | CancelMessage
  | DisposeMessage;

/** A progress event of the model load (job 0) or of a call. */
export interface ProgressMessage {
  /** Message kind. */
  type: "progress";
  /** The call it belongs to; 0 for the model load. */
  job: number;
  /** The event. */
  event: EditProgress;
}

/** The model is loaded. */
export interface ReadyMessage {
  /** Message kind. */
  type: "ready";
  /** The device the model runs on. */
  device: DeviceName;
  /** The weight type each graph component runs with, by component name. */
  dtypes: Record<string, ComponentDtype>;
}

/** An edit finished. */
export interface EditResultMessage {
  /** Message kind. */
  type: "edit-result";
  /** The call. */
  job: number;
  /** Its result. */
  result: EditResult;
}

/** A region preview finished. */
export interface PreviewRegionResultMessage {
  /** Message kind. */
  type: "preview-region-result";
  /** The call. */
  job: number;
  /** The localization map. */
  localization: EditLocalization;
}

/** A call (or, with job 0, the model load) failed. */
export interface ErrorMessage {
  /** Message kind. */
  type: "error";
  /** The call; 0 for the model load. */
  job: number;
  /** The error as JSON. */
  error: ErrorBody;
}

/** Every session was released. */
export interface DisposedMessage {
  /** Message kind. */
  type: "disposed";
}

/** What the worker sends back. */
export type EngineResponse =
  | ProgressMessage
  | ReadyMessage
  | EditResultMessage
  | PreviewRegionResultMessage
  | ErrorMessage
  | DisposedMessage;

/** The buffers of a result (image, map, mask) to transfer back. */
export function resultTransferables(result: EditResult): ArrayBuffer[] {
  return uniqueArrayBuffers([
    result.image.data.buffer,
    result.localization.data.buffer,
    result.mask.data.buffer,
  ]);
}

/** The buffers of a progress event (a preview image) to transfer. */
export function progressTransferables(event: EditProgress): ArrayBuffer[] {
  return event.type === "step" && event.preview
    ? uniqueArrayBuffers([event.preview.data.buffer])
    : [];
}

/** Plain `ArrayBuffer`s among `buffers`, each once (shared memory cannot be transferred). */
function uniqueArrayBuffers(buffers: ArrayBufferLike[]): ArrayBuffer[] {
  return [...new Set(buffers)].filter((buffer): buffer is ArrayBuffer =>
    buffer instanceof ArrayBuffer
  );
}

/** The JSON body of any thrown value: an `EditMGTError`'s own, or an `internal` error's. */
export function errorBody(error: unknown): ErrorBody {
  if (error instanceof EditMGTError) return error.toJSON();
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new EditMGTError("internal", `the engine failed: ${message}`).toJSON();
}
