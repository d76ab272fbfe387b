/**
 * Following one job: a stream of snapshots each time something a client cares about changes
 * (status, queue position, step, preview), woken by this process's changes at once and by
 * rereading every `pollMs` for changes made by other processes.
 *
 * @module
 */

import type { JobStore } from "./store.ts";
import { isFinal, type JobProgress, type JobRecord } from "./types.ts";

/** What a follower sees of a job at one moment. */
export interface JobSnapshot {
  /** The job record. */
  job: JobRecord;
  /** Its progress, once it runs. */
  progress: JobProgress | null;
  /** Jobs ahead of it while it is queued. */
  position: number | null;
}

/** Options of {@linkcode watchJob}. */
export interface WatchOptions {
  /** Ends the stream. */
  signal?: AbortSignal;
  /** Longest pause between rereads. */
  pollMs: number;
}

/** The parts of a snapshot whose change is worth telling. */
function fingerprint(snapshot: JobSnapshot): string {
  const { job, progress, position } = snapshot;
  return JSON.stringify([
    job.status,
    job.attempts,
    job.delivery,
    job.cancelRequested ?? false,
    progress?.index,
    progress?.preview,
    position,
  ]);
}

/** Reads the current snapshot of job `id`, or null when it does not exist. */
export async function readSnapshot(store: JobStore, id: string): Promise<JobSnapshot | null> {
  const job = await store.get(id);
  if (job === null) return null;
  return {
    job,
    progress: job.status === "queued" ? null : await store.progress(id),
    position: job.status === "queued" ? await store.position(id) : null,
  };
}

/**
 * Yields a snapshot of job `id` now and after every relevant change, ending after the final
 * one (completed, failed, cancelled), when the job disappears, or when `signal` aborts.
 */
export async function* watchJob(
  store: JobStore,
  id: string,
  options: WatchOptions,
): AsyncGenerator<JobSnapshot> {
  let last = "";
  while (!options.signal?.aborted) {
    const snapshot = await readSnapshot(store, id);
    if (snapshot === null) return;
    const current = fingerprint(snapshot);
    if (current !== last) {
      last = current;
      yield snapshot;
    }
    if (isFinal(snapshot.job.status)) return;
    await store.changes.wait(id, options.pollMs, options.signal);
  }
}

/**
 * Waits until job `id` is final, `timeoutMs` has passed or `signal` aborts, and returns the job
 * as it then is (null when it does not exist).
 */
export async function waitForJob(
  store: JobStore,
  id: string,
  options: { signal?: AbortSignal; timeoutMs: number; pollMs: number },
): Promise<JobRecord | null> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let job: JobRecord | null = null;
  for await (const snapshot of watchJob(store, id, { signal, pollMs: options.pollMs })) {
    job = snapshot.job;
  }
  return job !== null && isFinal(job.status) ? job : await store.get(id);
}
