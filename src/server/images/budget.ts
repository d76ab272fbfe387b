/**
 * `PixelBudget`: how many decoded pixels the process holds at once, over every request and job
 * in flight (uploads being turned into masks, results being resized, edits running). Work asks
 * for its pixels before it decodes and gives them back when done; it waits in line while the
 * budget is spent, and a line that is too long, or a wait that is too long, answers `busy`.
 *
 * @module
 */

import { EditMGTError } from "../../errors/mod.ts";

/** Options of {@linkcode PixelBudget}. */
export interface PixelBudgetOptions {
  /** Pixels held at once, over all holders. */
  pixels: number;
  /** Most holders waiting in line; one more is refused with `busy`. */
  maxWaiting: number;
  /** Longest wait in line before `busy`, in milliseconds. */
  maxWaitMs: number;
}

interface Waiter {
  pixels: number;
  grant(): void;
}

function busy(message: string): EditMGTError {
  return new EditMGTError("busy", `${message}; retry in 2 s`, { details: { retryAfter: 2 } });
}

/** The shared pixel budget (see the module doc). */
export class PixelBudget {
  readonly #options: PixelBudgetOptions;
  readonly #line: Waiter[] = [];
  #held = 0;

  /** A budget of `options.pixels`. */
  constructor(options: PixelBudgetOptions) {
    this.#options = options;
  }

  /** Pixels held now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Waits until `pixels` fit in the budget (in arrival order), holds them, and returns the
   * function that gives them back. Throws `busy` when the line is full or the wait runs out
   * (unless `patient`: a queued job waits as long as it takes), and the signal's reason when
   * `signal` aborts first. A request for more than the whole budget waits until nothing else
   * is held.
   *
   * @example
   * ```ts
   * import { PixelBudget } from "./budget.ts";
   *
   * const budget = new PixelBudget({ pixels: 1_000_000, maxWaiting: 8, maxWaitMs: 10_000 });
   * const release = await budget.acquire(640 * 480);
   * try {
   *   // ... decode, resize, encode ...
   * } finally {
   *   release();
   * }
   * ```
   */
  acquire(pixels: number, signal?: AbortSignal, patient = false): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const amount = Math.min(pixels, this.#options.pixels);
    if (this.#line.length === 0 && this.#held + amount <= this.#options.pixels) {
      this.#held += amount;
      return Promise.resolve(this.#releaser(amount));
    }
    if (!patient && this.#line.length >= this.#options.maxWaiting) {
      return Promise.reject(busy(`${this.#line.length} image tasks are waiting already`));
    }
    return new Promise((resolve, reject) => {
      const leave = (error: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const index = this.#line.indexOf(waiter);
        if (index >= 0) this.#line.splice(index, 1);
        this.#grant();
        reject(error);
      };
      const onAbort = () => leave(signal!.reason);
      const timer = patient ? undefined : setTimeout(
        () => leave(busy(`the image work waited over ${this.#options.maxWaitMs} ms`)),
        this.#options.maxWaitMs,
      );
      const waiter: Waiter = {
        pixels: amount,
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#releaser(amount));
        },
      };
      this.#line.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #releaser(amount: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held -= amount;
      this.#grant();
    };
  }

  /** Hands the budget to the waiters at the head of the line that fit now. */
  #grant(): void {
    while (this.#line.length > 0 && this.#held + this.#line[0].pixels <= this.#options.pixels) {
      const waiter = this.#line.shift()!;
      this.#held += waiter.pixels;
      waiter.grant();
    }
  }
}
