/**
 * `JobWorker`: consumes the KV queue (`listenQueue`) and runs each job on its model's engine,
 * one at a time per engine. A worker holds a lease on every job it has taken and renews it
 * while it lives; a sweep gives jobs whose lease ran out (their process died) back to the
 * queue, so a queued or running job survives a restart: it runs again, and after
 * `maxAttempts` interrupted runs it fails with the reason.
 *
 * @module
 */

import type { Engine } from "../../engine/engine.ts";
import { EditMGTError, isEditMGTError } from "../../errors/mod.ts";
import type { RgbaImage } from "../../image/types.ts";
import type { EditInput, EditProgress, EditResult } from "../../pipeline/types.ts";
import type { PixelBudget } from "../images/budget.ts";
import type { ImagePool } from "../images/pool.ts";
import type { Logger, LogLevel } from "../logging/index.ts";
import type { QueueOptions } from "../options.ts";
import { Slot } from "./slot.ts";
import type { JobStore } from "./store.ts";
import { isFinal, isJobMessage, type JobError, type JobRecord, KEYS } from "./types.ts";

/** Options of {@linkcode JobWorker}. */
export interface JobWorkerOptions {
  /** The jobs. */
  store: JobStore;
  /** The engine of a model id, or undefined when this process does not serve it. */
  engineFor(model: string): Engine | undefined;
  /** Queue settings (timeout, lease, attempts). */
  queue: QueueOptions;
  /** The pixel budget a running edit holds its pixels in. */
  budget: PixelBudget;
  /** Encodes results and previews off this thread. */
  images: ImagePool;
  /** Log sink. */
  log: Logger;
}

/**
 * Pixels a running edit holds at its peak: the decoded source and the result at the source's
 * size (a mask image is turned into a token mask on the model's grid as soon as it is decoded,
 * and the model-resolution tensors are small beside them).
 */
function jobPixels(job: JobRecord): number {
  return job.source.width * job.source.height * 2;
}

/** A message that reaches a stopping worker goes back on the queue for this long. */
const REDELIVERY_DELAY_MS = 1_000;

/**
 * A queued job nobody has taken this long after its message was sent gets a new message from a
 * worker's own process. A local KV file wakes the listeners of the process that enqueues at
 * once, but those of other processes only when they next poll the file (about a minute).
 */
const UNDELIVERED_AFTER_MS = 1_000;
/** Longest pause between two rounds of lease renewal and sweeping. */
const MAX_TICK_MS = 1_000;

/** Why a job this worker holds is being stopped. */
type StopReason = "cancelled" | "lost" | "shutdown";

class Stop {
  constructor(readonly reason: StopReason) {}
}

/** The queue consumer of one process (see the module doc). */
export class JobWorker {
  /** This worker's identity in leases. */
  readonly owner: string = crypto.randomUUID();
  readonly #options: JobWorkerOptions;
  readonly #held = new Map<string, AbortController>();
  readonly #slots = new Map<string, Slot>();
  readonly #pending = new Set<Promise<unknown>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The promise of `listenQueue`; it settles only when the KV closes. */
  #listening: Promise<void> | undefined;
  #stopped = false;
  /** The round of renewal and sweeping under way, if any (rounds never overlap). */
  #ticking: Promise<void> | undefined;

  /** A worker; call {@linkcode JobWorker.start}. */
  constructor(options: JobWorkerOptions) {
    this.#options = options;
  }

  /**
   * Starts consuming the queue, renewing leases and sweeping for abandoned jobs (every third of
   * a lease, at most 1 s apart).
   */
  start(): void {
    const { store, queue } = this.#options;
    this.#listening = store.kv.listenQueue((message) => this.#track(this.#deliver(message)));
    this.#listening.catch((error) => this.#log("error", "the queue listener failed", { error }));
    this.#timer = setInterval(
      () => this.#startTick(),
      Math.max(20, Math.min(MAX_TICK_MS, Math.floor(queue.leaseMs / 3))),
    );
    this.#track(this.#sweep());
  }

  /** Stops a job this process runs or holds, at once (the store records the cancellation). */
  cancelLocal(id: string): void {
    this.#held.get(id)?.abort(new Stop("cancelled"));
  }

  /**
   * Stops: jobs it holds go back to the queue (their interrupted run does not count as an
   * attempt), and messages delivered from now on are put back for another process.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const controller of this.#held.values()) controller.abort(new Stop("shutdown"));
    await Promise.allSettled([...this.#pending]);
  }

  /** Starts a round of renewal and sweeping unless one is still under way. */
  #startTick(): void {
    if (this.#ticking !== undefined) return;
    const done = () => (this.#ticking = undefined);
    this.#ticking = this.#track(this.#tick()).then(done, done);
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    promise.then(
      () => this.#pending.delete(promise),
      (error) => {
        this.#pending.delete(promise);
        if (!this.#stopped) this.#log("error", "job worker task failed", { error });
      },
    );
    return promise;
  }

  #log(level: LogLevel, msg: string, fields: object = {}): void {
    this.#options.log({ level, msg, worker: this.owner, ...fields });
  }

  #lease() {
    return { owner: this.owner, until: this.#options.store.now() + this.#options.queue.leaseMs };
  }

  #slot(model: string): Slot {
    let slot = this.#slots.get(model);
    if (slot === undefined) this.#slots.set(model, slot = new Slot());
    return slot;
  }

  async #deliver(message: unknown): Promise<void> {
    if (!isJobMessage(message)) return;
    const { store } = this.#options;
    if (this.#stopped) {
      await store.kv.enqueue(message, { delay: REDELIVERY_DELAY_MS });
      return;
    }
    const now = store.now();
    const claimed = await store.update(
      message.id,
      (job) =>
        job.status === "queued" && job.delivery === message.delivery &&
          (job.lease === undefined || job.lease.until < now)
          ? { ...job, lease: this.#lease() }
          : null,
    );
    if (claimed === null) return;
    const controller = new AbortController();
    this.#held.set(claimed.id, controller);
    const slot = this.#slot(claimed.model);
    try {
      await slot.acquire(controller.signal);
    } catch {
      this.#held.delete(claimed.id);
      await this.#settleStopped(claimed, controller.signal.reason);
      return;
    }
    try {
      const started = await store.update(
        claimed.id,
        (job) =>
          job.status === "queued" && job.lease?.owner === this.owner
            ? {
              ...job,
              status: "running",
              attempts: job.attempts + 1,
              startedAt: store.now(),
              lease: this.#lease(),
            }
            : null,
      );
      if (started !== null) await this.#run(started, controller);
    } finally {
      slot.release();
      this.#held.delete(claimed.id);
    }
  }

  async #run(job: JobRecord, controller: AbortController): Promise<void> {
    const { store, queue } = this.#options;
    const started = performance.now();
    const timeout = AbortSignal.timeout(queue.jobTimeoutMs);
    const signal = AbortSignal.any([controller.signal, timeout]);
    let progressWrites = Promise.resolve();
    this.#log("info", "job started", { job: job.id, attempt: job.attempts, model: job.model });
    try {
      const engine = this.#options.engineFor(job.model);
      if (engine === undefined) {
        throw new EditMGTError("model_not_found", `this server does not run model "${job.model}"`);
      }
      const input = await this.#input(job);
      await engine.ready;
      const release = await this.#options.budget.acquire(jobPixels(job), signal, true);
      try {
        const result = await engine.edit(input, {
          signal,
          onProgress: (event) => {
            progressWrites = progressWrites
              .then(() => this.#progress(job.id, event))
              .catch((error) => this.#log("warn", "progress write failed", { job: job.id, error }));
          },
        });
        await progressWrites;
        await this.#complete(job, result);
      } finally {
        release();
      }
      store.recordRunTime(performance.now() - started);
      this.#log("info", "job completed", {
        job: job.id,
        ms: Math.round(performance.now() - started),
      });
    } catch (error) {
      await progressWrites;
      if (controller.signal.aborted) await this.#settleStopped(job, controller.signal.reason);
      else if (timeout.aborted) {
        await this.#fail(job, {
          code: "timeout",
          message: `the edit ran longer than the limit of ${queue.jobTimeoutMs} ms`,
        });
      } else {
        const failure = isEditMGTError(error)
          ? { code: error.code, message: error.message }
          : { code: "internal" as const, message: `the edit failed: ${error}` };
        if (!isEditMGTError(error)) this.#log("error", "job crashed", { job: job.id, error });
        await this.#fail(job, failure);
      }
    }
  }

  /** The edit's input as stored: image files, decoded once, in the engine's Worker. */
  async #input(job: JobRecord): Promise<EditInput> {
    const { image, mask } = await this.#options.store.input(job.id);
    if (image === null) {
      throw new EditMGTError("not_found", "the stored source image of this edit has expired");
    }
    return {
      image,
      instruction: job.instruction,
      options: job.options,
      ...(mask === null ? {} : { mask }),
    };
  }

  /** PNG bytes of `image`, encoded in the image pool within the budget the job holds. */
  async #png(image: RgbaImage): Promise<Uint8Array> {
    const task = { op: "encode", image, format: "png" } as const;
    const png = await this.#options.images.run(task, image, {
      holdsBudget: true,
      transfer: [image.data.buffer as ArrayBuffer],
    });
    return png!;
  }

  async #progress(id: string, event: EditProgress): Promise<void> {
    if (event.type !== "step") return;
    const preview = event.preview ? await this.#png(event.preview) : undefined;
    await this.#options.store.setProgress(id, { index: event.index, total: event.total }, preview);
  }

  async #complete(job: JobRecord, result: EditResult): Promise<void> {
    const { store } = this.#options;
    const { localization, mask } = result;
    const { width, height } = result.image;
    await store.storeResult(job.id, await this.#png(result.image), {
      localization: {
        width: localization.width,
        height: localization.height,
        lambda: localization.lambda,
        data: localization.data,
      },
      mask: { width: mask.width, height: mask.height, data: mask.data },
    });
    await store.update(job.id, (current) =>
      this.#runs(current)
        ? {
          ...current,
          status: "completed",
          result: {
            seed: result.seed,
            width,
            height,
            device: result.device,
            dtypes: result.dtypes,
            timings: result.timings,
          },
        }
        : null);
  }

  /** Whether this worker still runs `job` (nobody took it over or finished it). */
  #runs(job: JobRecord): boolean {
    return job.status === "running" && job.lease?.owner === this.owner;
  }

  async #fail(job: JobRecord, error: JobError): Promise<void> {
    await this.#options.store.update(
      job.id,
      (current) => this.#runs(current) ? { ...current, status: "failed", error } : null,
    );
    this.#log("warn", "job failed", { job: job.id, code: error.code, reason: error.message });
  }

  /** Settles a job this worker held and had to stop. */
  async #settleStopped(job: JobRecord, reason: unknown): Promise<void> {
    const { store } = this.#options;
    const stop = reason instanceof Stop ? reason.reason : "lost";
    const mine = (current: JobRecord) =>
      !isFinal(current.status) && current.lease?.owner === this.owner;
    if (stop === "cancelled") {
      await store.update(job.id, (current) =>
        mine(current)
          ? {
            ...current,
            status: "cancelled",
            error: { code: "aborted", message: "the edit was cancelled while it ran" },
          }
          : null);
    } else if (stop === "shutdown") {
      await store.requeue(
        job.id,
        (current) =>
          mine(current)
            ? {
              ...current,
              attempts: current.status === "running" ? current.attempts - 1 : current.attempts,
            }
            : null,
      );
    }
  }

  async #tick(): Promise<void> {
    const { store } = this.#options;
    for (const [id, controller] of this.#held) {
      const renewed = await store.update(
        id,
        (job) =>
          !isFinal(job.status) && job.lease?.owner === this.owner
            ? { ...job, lease: this.#lease() }
            : null,
      );
      if (renewed === null) {
        const job = await store.get(id);
        controller.abort(new Stop(job?.status === "cancelled" ? "cancelled" : "lost"));
      } else if (renewed.cancelRequested) {
        controller.abort(new Stop("cancelled"));
      }
    }
    await this.#sweep();
  }

  /**
   * Gives jobs whose worker stopped renewing its lease back to the queue (or ends them), and
   * sends the message of a queued job again when no worker has taken it.
   */
  async #sweep(): Promise<void> {
    const { store, queue } = this.#options;
    for (const id of await store.activeIds()) {
      if (this.#stopped) return;
      if (this.#held.has(id)) continue;
      const job = await store.get(id);
      if (job === null || isFinal(job.status)) {
        await store.kv.delete(KEYS.active(id));
        continue;
      }
      const now = store.now();
      const undelivered = (current: JobRecord) =>
        current.status === "queued" && current.lease === undefined &&
        now - current.updatedAt > UNDELIVERED_AFTER_MS;
      if (undelivered(job)) {
        if (await store.requeue(id, (current) => undelivered(current) ? current : null)) {
          this.#log("debug", "job message sent again", { job: id });
        }
        continue;
      }
      const abandoned = (current: JobRecord) =>
        !isFinal(current.status) && current.lease !== undefined && current.lease.until < now;
      if (!abandoned(job)) continue;
      if (job.cancelRequested) {
        await store.update(id, (current) =>
          abandoned(current)
            ? {
              ...current,
              status: "cancelled",
              error: { code: "aborted", message: "the edit was cancelled while it ran" },
            }
            : null);
      } else if (job.status === "running" && job.attempts >= queue.maxAttempts) {
        const message = `the server stopped while running this edit ${job.attempts} times; ` +
          "giving up (try fewer steps or a smaller image)";
        await store.update(
          id,
          (current) =>
            abandoned(current)
              ? { ...current, status: "failed", error: { code: "internal", message } }
              : null,
        );
        this.#log("warn", "job failed", { job: id, code: "internal", reason: message });
      } else if (await store.requeue(id, (current) => abandoned(current) ? current : null)) {
        this.#log("info", "job requeued", { job: id, attempts: job.attempts });
      }
    }
  }
}
