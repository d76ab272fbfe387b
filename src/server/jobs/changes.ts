/**
 * In-process notifications of job changes, so a waiting client or an SSE stream wakes at once
 * when this process changes a job. Changes made by other processes sharing the KV are seen by
 * rereading after `pollMs` (Deno KV's `watch` does not see other processes' writes to a local
 * file).
 *
 * @module
 */

type Listener = (id: string) => void;

/** The notifier: `notify` after writing a job, `wait` to sleep until the next change. */
export class JobChanges {
  readonly #listeners = new Set<Listener>();

  /** Tells waiters that job `id` changed (`"*"`: any job, for example the queue moved). */
  notify(id: string): void {
    for (const listener of [...this.#listeners]) listener(id);
  }

  /**
   * Resolves on the next change of job `id` (or of any job with `"*"`), after `timeoutMs`, or
   * when `signal` aborts, whichever comes first. Never rejects.
   *
   * @example
   * ```ts
   * import { JobChanges } from "./changes.ts";
   *
   * const changes = new JobChanges();
   * const woke = changes.wait("job1", 10_000);
   * changes.notify("job1");
   * await woke; // at once, not after 10 s
   * ```
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const listener: Listener = (changed) => {
        if (changed === id || changed === "*" || id === "*") done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#listeners.add(listener);
      if (signal?.aborted) done();
      else signal?.addEventListener("abort", done, { once: true });
    });
  }
}
