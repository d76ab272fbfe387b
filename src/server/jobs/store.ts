/**
 * `JobStore`: edit jobs, their inputs, progress and results in Deno KV. Admission to the
 * bounded queue, the job record and the queue message are one atomic write, serialized over
 * every process sharing the KV by a gate key. Every change goes through an optimistic
 * read-check-write, so processes never overwrite each other's updates.
 *
 * @module
 */

import { EditMGTError } from "../../errors/mod.ts";
import type { EditOptions } from "../../schema/options.ts";
import type { QueueOptions } from "../options.ts";
import { deleteBlobs, readBlob, writeBlob } from "./blobs.ts";
import type { JobChanges } from "./changes.ts";
import {
  isFinal,
  type JobMessage,
  type JobProgress,
  type JobRecord,
  type JobResultMaps,
  type JobSource,
  KEYS,
  newJobId,
} from "./types.ts";

/** A validated edit request, ready to queue. */
export interface JobSubmission {
  /** Model id. */
  model: string;
  /** The instruction. */
  instruction: string;
  /** Sampler options. */
  options: EditOptions;
  /** What the source image's header said. */
  source: JobSource;
  /** The source image file (PNG, JPEG or WebP bytes). */
  image: Uint8Array;
  /** The inpainting mask image file, if any. */
  mask?: Uint8Array;
}

/** How long stored inputs may outlive a job that never finished (a day). */
const INPUT_TTL_MS = 86_400_000;
/** Attempts of one optimistic write before giving up on contention. */
const MAX_WRITE_TRIES = 20;
/** Run time assumed for `Retry-After` before a job has finished here. */
const DEFAULT_RUN_MS = 5_000;

/** Jobs in Deno KV (see the module doc). */
export class JobStore {
  /** The KV holding everything. */
  readonly kv: Deno.Kv;
  /** In-process change notifications. */
  readonly changes: JobChanges;
  readonly #queue: QueueOptions;
  readonly #now: () => number;
  #averageRunMs: number | undefined;

  /** A store over `kv` with the queue settings. */
  constructor(kv: Deno.Kv, queue: QueueOptions, changes: JobChanges, now: () => number = Date.now) {
    this.kv = kv;
    this.changes = changes;
    this.#queue = queue;
    this.#now = now;
  }

  /** Epoch milliseconds (injectable in tests). */
  now(): number {
    return this.#now();
  }

  /**
   * Queues a job: stores its inputs, then admits it if fewer than `maxJobs` jobs are queued or
   * running. Throws `queue_full` (with `details.retryAfter` seconds) otherwise.
   */
  async submit(submission: JobSubmission): Promise<JobRecord> {
    const createdAt = this.#now();
    const id = newJobId(createdAt);
    if (await this.activeCount() >= this.#queue.maxJobs) throw this.#queueFull();
    await writeBlob(this.kv, KEYS.blob(id, "image"), submission.image, INPUT_TTL_MS);
    if (submission.mask) {
      await writeBlob(this.kv, KEYS.blob(id, "mask"), submission.mask, INPUT_TTL_MS);
    }
    const job: JobRecord = {
      id,
      model: submission.model,
      status: "queued",
      instruction: submission.instruction,
      options: submission.options,
      hasMask: submission.mask !== undefined,
      source: submission.source,
      createdAt,
      updatedAt: createdAt,
      delivery: 0,
      attempts: 0,
    };
    for (let attempt = 0; attempt < MAX_WRITE_TRIES; attempt++) {
      const gate = await this.kv.get<number>(KEYS.gate);
      if (await this.activeCount() >= this.#queue.maxJobs) break;
      const message: JobMessage = { type: "editmgt-job", id, delivery: 0 };
      const result = await this.kv.atomic()
        .check(gate)
        .set(KEYS.gate, (gate.value ?? 0) + 1)
        .set(KEYS.job(id), job)
        .set(KEYS.active(id), createdAt)
        .enqueue(message)
        .commit();
      if (result.ok) {
        this.changes.notify(id);
        return job;
      }
    }
    await deleteBlobs(this.kv, KEYS.blobs(id));
    throw this.#queueFull();
  }

  /**
   * Throws `queue_full` when fewer than `count` more jobs fit in the queue now: a cheap check
   * before an upload is read and decoded (`submit` checks again, atomically).
   */
  async assertRoom(count = 1): Promise<void> {
    if (await this.activeCount() + count > this.#queue.maxJobs) throw this.#queueFull();
  }

  /** The job `id`, or null when it does not exist or has expired. */
  async get(id: string): Promise<JobRecord | null> {
    const job = (await this.kv.get<JobRecord>(KEYS.job(id))).value;
    return job === null || this.#expired(job) ? null : job;
  }

  /**
   * Changes job `id` with `change` (return null to leave it as it is) in one checked write,
   * retried on conflicts. `also` adds writes to the same atomic operation. A job that becomes
   * final gets its expiry and leaves the queue. Returns the new record, or null when nothing
   * was written.
   */
  async update(
    id: string,
    change: (job: JobRecord) => JobRecord | null,
    also?: (operation: Deno.AtomicOperation, job: JobRecord) => void,
  ): Promise<JobRecord | null> {
    for (let attempt = 0; attempt < MAX_WRITE_TRIES; attempt++) {
      const entry = await this.kv.get<JobRecord>(KEYS.job(id));
      if (entry.value === null || this.#expired(entry.value)) return null;
      const changed = change(entry.value);
      if (changed === null) return null;
      const now = this.#now();
      const next: JobRecord = { ...changed, updatedAt: now };
      const finishing = isFinal(next.status) && !isFinal(entry.value.status);
      const operation = this.kv.atomic().check(entry);
      if (finishing) {
        next.finishedAt = now;
        next.expiresAt = now + this.#queue.resultTtlMs;
        delete next.lease;
        operation.set(KEYS.job(id), next, { expireIn: this.#queue.resultTtlMs });
        operation.delete(KEYS.active(id));
      } else {
        operation.set(KEYS.job(id), next);
      }
      also?.(operation, next);
      if ((await operation.commit()).ok) {
        if (finishing) {
          await deleteBlobs(this.kv, KEYS.blob(id, "image"));
          await deleteBlobs(this.kv, KEYS.blob(id, "mask"));
        }
        this.changes.notify(finishing ? "*" : id);
        return next;
      }
    }
    throw new EditMGTError("internal", `job ${id} kept changing under this write; try again`);
  }

  /**
   * Cancels job `id`: a queued job at once; a running one is flagged `cancelRequested` and its
   * worker stops it. Returns the job as it is now (null when unknown).
   */
  async cancel(id: string): Promise<JobRecord | null> {
    const changed = await this.update(id, (job) => {
      if (isFinal(job.status) || job.cancelRequested) return null;
      if (job.status === "queued") {
        return {
          ...job,
          status: "cancelled",
          error: { code: "aborted", message: "the edit was cancelled before it started" },
        };
      }
      return { ...job, cancelRequested: true };
    });
    return changed ?? await this.get(id);
  }

  /** Jobs queued or running, over every process (counted up to the limit). */
  async activeCount(): Promise<number> {
    let count = 0;
    const limit = this.#queue.maxJobs + 1;
    for await (const _ of this.kv.list({ prefix: KEYS.activePrefix }, { limit })) count++;
    return count;
  }

  /** Ids of jobs queued or running, oldest first. */
  async activeIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const entry of this.kv.list({ prefix: KEYS.activePrefix })) {
      ids.push(String(entry.key[entry.key.length - 1]));
    }
    return ids;
  }

  /** How many queued or running jobs were created before job `id`. */
  async position(id: string): Promise<number> {
    return (await this.activeIds()).filter((other) => other < id).length;
  }

  /** Puts a job back on the queue with a new delivery number (after its worker died). */
  async requeue(id: string, change: (job: JobRecord) => JobRecord | null): Promise<boolean> {
    const requeued = await this.update(id, (job) => {
      const next = change(job);
      if (next === null) return null;
      const { lease: _, ...rest } = next;
      return { ...rest, status: "queued", delivery: job.delivery + 1 };
    }, (operation, job) => {
      const message: JobMessage = { type: "editmgt-job", id, delivery: job.delivery };
      operation.enqueue(message).delete(KEYS.progress(id));
    });
    return requeued !== null;
  }

  /** Records step progress, with the preview image's PNG bytes when there is one. */
  async setProgress(id: string, progress: JobProgress, preview?: Uint8Array): Promise<void> {
    const expireIn = this.#queue.jobTimeoutMs + this.#queue.resultTtlMs;
    const previous = (await this.kv.get<JobProgress>(KEYS.progress(id))).value?.preview;
    if (preview !== undefined) {
      await writeBlob(this.kv, KEYS.blob(id, `preview-${progress.index}`), preview, expireIn);
    }
    const latest = preview === undefined ? previous : progress.index;
    const stored: JobProgress = latest === undefined ? progress : { ...progress, preview: latest };
    await this.kv.set(KEYS.progress(id), stored, { expireIn });
    if (preview !== undefined && previous !== undefined && previous !== progress.index) {
      await deleteBlobs(this.kv, KEYS.blob(id, `preview-${previous}`));
    }
    this.changes.notify(id);
  }

  /** The progress of job `id`, if it has started. */
  async progress(id: string): Promise<JobProgress | null> {
    return (await this.kv.get<JobProgress>(KEYS.progress(id))).value;
  }

  /** The PNG bytes of the preview stored at step `index`. */
  preview(id: string, index: number): Promise<Uint8Array | null> {
    return readBlob(this.kv, KEYS.blob(id, `preview-${index}`));
  }

  /** The stored input image and mask of job `id`. */
  async input(id: string): Promise<{ image: Uint8Array | null; mask: Uint8Array | null }> {
    return {
      image: await readBlob(this.kv, KEYS.blob(id, "image")),
      mask: await readBlob(this.kv, KEYS.blob(id, "mask")),
    };
  }

  /** Stores a result (PNG bytes and maps) before the job is marked completed. */
  async storeResult(id: string, png: Uint8Array, maps: JobResultMaps): Promise<void> {
    const expireIn = this.#queue.resultTtlMs;
    await writeBlob(this.kv, KEYS.blob(id, "result"), png, expireIn);
    await this.kv.set(KEYS.maps(id), maps, { expireIn });
  }

  /** The PNG bytes of a completed job's image. */
  resultImage(id: string): Promise<Uint8Array | null> {
    return readBlob(this.kv, KEYS.blob(id, "result"));
  }

  /** The maps of a completed job. */
  async resultMaps(id: string): Promise<JobResultMaps | null> {
    return (await this.kv.get<JobResultMaps>(KEYS.maps(id))).value;
  }

  /** Feeds a finished run's duration into the `Retry-After` estimate. */
  recordRunTime(ms: number): void {
    this.#averageRunMs = this.#averageRunMs === undefined
      ? ms
      : 0.8 * this.#averageRunMs + 0.2 * ms;
  }

  /** Seconds after which a slot is likely free again: about one run (5 s before any run). */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.#averageRunMs ?? DEFAULT_RUN_MS) / 1000));
  }

  #queueFull(): EditMGTError {
    const retryAfter = this.retryAfterSeconds();
    return new EditMGTError(
      "queue_full",
      `the edit queue is full (${this.#queue.maxJobs} edits queued or running); ` +
        `retry in ${retryAfter} s`,
      { details: { retryAfter } },
    );
  }

  #expired(job: JobRecord): boolean {
    return job.expiresAt !== undefined && job.expiresAt <= this.#now();
  }
}
