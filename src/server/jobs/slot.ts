/**
 * A FIFO slot: at most one holder at a time, waiters served in order, a waiter leaves the line
 * when its signal aborts. One per engine, since an engine runs one edit at a time.
 *
 * @module
 */

/** One run at a time, in arrival order. */
export class Slot {
  #busy = false;
  readonly #waiters: Array<() => void> = [];

  /**
   * Waits for the slot. Rejects with the signal's reason if `signal` aborts first.
   *
   * @example
   * ```ts
   * import { Slot } from "./slot.ts";
   *
   * const slot = new Slot();
   * await slot.acquire();
   * try {
   *   // ... the only holder ...
   * } finally {
   *   slot.release();
   * }
   * ```
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.#busy) {
      this.#busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(grant);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal!.reason);
      };
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#waiters.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Hands the slot to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#busy = false;
    else next();
  }
}
