/**
 * The worker module of the image pool: runs {@linkcode runImageTask} for each message
 * `{ id, task }` and answers `{ id, bytes }` (transferred) or `{ id, error }`.
 *
 * @module
 */

import { errorBody } from "../../engine/protocol.ts";
import type { ImageReply, ImageRequest } from "./pool.ts";
import { runImageTask } from "./tasks.ts";

/** The parts of a worker's global scope this module uses. */
interface WorkerScope {
  postMessage(message: ImageReply, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ImageRequest>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async ({ data: { id, task } }) => {
  try {
    const bytes = await runImageTask(task);
    scope.postMessage({ id, bytes }, bytes === null ? [] : [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    scope.postMessage({ id, error: errorBody(error) });
  }
};
