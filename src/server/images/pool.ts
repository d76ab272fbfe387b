/**
 * `ImagePool`: Workers that do the server's pixel work (encoding results and previews, resizing
 * and re-encoding results, OpenAI alpha masks), so the HTTP thread only moves bytes. Each task
 * holds its pixels in the shared {@linkcode PixelBudget} while it runs. Workers start on first
 * use and go to the least busy one.
 *
 * @module
 */

import { EditMGTError, type ErrorBody } from "../../errors/mod.ts";
import type { Size } from "../../image/types.ts";
import type { PixelBudget } from "./budget.ts";
import { type ImageTask, taskPixels } from "./tasks.ts";

/** A message to a pool worker. */
export interface ImageRequest {
  /** Number of the task, echoed in the reply. */
  id: number;
  /** The work. */
  task: ImageTask;
}

/** A pool worker's reply. */
export type ImageReply = { id: number; bytes: Uint8Array | null } | {
  id: number;
  error: ErrorBody;
};

/** Options of {@linkcode ImagePool}. */
export interface ImagePoolOptions {
  /** Number of Workers. */
  workers: number;
  /** The pixel budget every task holds its pixels in. */
  budget: PixelBudget;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, (reply: ImageReply) => void>;
}

/** The platform's Worker, kept at load time (see the engine: onnxruntime-web may replace it). */
const PlatformWorker: typeof Worker = globalThis.Worker;

/** The server's image Workers (see the module doc). */
export class ImagePool {
  readonly #options: ImagePoolOptions;
  readonly #workers: PoolWorker[] = [];
  #nextId = 1;
  #closed = false;

  /** A pool; no Worker starts before the first task. */
  constructor(options: ImagePoolOptions) {
    this.#options = options;
  }

  /**
   * Runs `task` in a Worker once its pixels fit in the budget. `inputSize` is the size of the
   * input's pixels (for the budget); `holdsBudget` false when the caller holds them already.
   * Buffers in `transfer` move to the Worker. Throws the task's typed error, or `busy` when
   * the budget's line is full.
   *
   * @example
   * ```ts
   * import { createImage } from "../../image/mod.ts";
   * import { PixelBudget } from "./budget.ts";
   * import { ImagePool } from "./pool.ts";
   *
   * const budget = new PixelBudget({ pixels: 1 << 24, maxWaiting: 16, maxWaitMs: 30_000 });
   * const pool = new ImagePool({ workers: 1, budget });
   * const image = createImage({ width: 64, height: 64 });
   * const png = await pool.run({ op: "encode", image, format: "png" }, image);
   * console.log(png!.length > 0); // true
   * pool.close();
   * ```
   */
  async run(
    task: ImageTask,
    inputSize: Size,
    options: { holdsBudget?: boolean; transfer?: Transferable[]; signal?: AbortSignal } = {},
  ): Promise<Uint8Array | null> {
    const release = options.holdsBudget
      ? () => {}
      : await this.#options.budget.acquire(taskPixels(task, inputSize), options.signal);
    try {
      return await this.#post(task, options.transfer ?? []);
    } finally {
      release();
    }
  }

  /** Ends every Worker; tasks still running reject. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#workers.splice(0)) this.#end(entry, "the server is shutting down");
  }

  #post(task: ImageTask, transfer: Transferable[]): Promise<Uint8Array | null> {
    if (this.#closed) {
      return Promise.reject(new EditMGTError("backend_unavailable", "the server is shutting down"));
    }
    const entry = this.#leastBusy();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      entry.pending.set(id, (reply) => {
        entry.pending.delete(id);
        if ("error" in reply) reject(EditMGTError.fromJSON(reply.error));
        else resolve(reply.bytes);
      });
      entry.worker.postMessage({ id, task } satisfies ImageRequest, transfer);
    });
  }

  #leastBusy(): PoolWorker {
    const idle = this.#workers.find((entry) => entry.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.#workers.length < this.#options.workers) return this.#start();
    return this.#workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  #start(): PoolWorker {
    const worker = new PlatformWorker(new URL("./worker.ts", import.meta.url), { type: "module" });
    const entry: PoolWorker = { worker, pending: new Map() };
    worker.onmessage = (event: MessageEvent<ImageReply>) => {
      entry.pending.get(event.data.id)?.(event.data);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#workers.splice(this.#workers.indexOf(entry), 1);
      this.#end(entry, `an image worker crashed: ${event.message}`);
    };
    this.#workers.push(entry);
    return entry;
  }

  #end(entry: PoolWorker, message: string): void {
    entry.worker.terminate();
    const error = new EditMGTError("internal", message).toJSON();
    for (const [id, settle] of [...entry.pending]) settle({ id, error });
  }
}
