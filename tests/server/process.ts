/**
 * Server subprocesses for the restart and multi-process tests: each serves the fixture model
 * with its jobs in a shared KV file (tests/server/serve_process.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { type JobView, JobViewSchema } from "../../src/server/mod.ts";
import { editForm, sourcePng } from "./helpers.ts";

/** Lease of the subprocesses' workers: a dead process's jobs are taken over after this. */
export const LEASE_MS = 1_000;
const png = await sourcePng();

/** A server subprocess on a KV file. */
export class ServerProcess {
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  readonly #drained: Promise<void>;
  /** Its URL, once started. */
  url = "";

  /** Spawns a server on `kvPath`; `worker: false` accepts jobs without running them. */
  constructor(kvPath: string, options: { worker?: boolean } = {}) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-kv",
        "tests/server/serve_process.ts",
        kvPath,
        String(LEASE_MS),
        options.worker === false ? "accept-only" : "worker",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#drained = Promise.all([
      this.#drain(this.#child.stdout),
      this.#drain(this.#child.stderr),
    ]).then(() => {});
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const parts = (pending + decoder.decode(chunk, { stream: true })).split("\n");
      pending = parts.pop()!;
      this.#lines.push(...parts);
    }
  }

  /** Waits for the "listening" line. */
  async started(): Promise<this> {
    for (let i = 0; i < 1200; i++) {
      const line = this.#lines.find((line) => line.startsWith('{"listening"'));
      if (line) {
        this.url = `http://127.0.0.1:${JSON.parse(line).listening}`;
        return this;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the server did not start:\n${this.#lines.join("\n")}`);
  }

  /** The JSON log records so far. */
  logs(): Record<string, unknown>[] {
    return this.#lines.filter((line) => line.startsWith('{"time"')).map((line) => JSON.parse(line));
  }

  /** Kills the process at once (no shutdown) and waits for it. */
  async kill(): Promise<void> {
    this.#child.kill("SIGKILL");
    await this.#child.status;
    await this.#drained;
  }
}

/** `GET /v1/edits/:id` on `server`. */
export async function getJob(server: ServerProcess, id: string): Promise<JobView> {
  return JobViewSchema.parse(await (await fetch(`${server.url}/v1/edits/${id}`)).json());
}

/** Queues an edit of `steps` steps (seed 3) on `server`. */
export async function submit(server: ServerProcess, steps: number): Promise<JobView> {
  const response = await fetch(`${server.url}/v1/edits`, {
    method: "POST",
    body: editForm(png, { options: JSON.stringify({ steps, seed: 3 }) }),
  });
  assert.equal(response.status, 202);
  return JobViewSchema.parse(await response.json());
}

/** Polls job `id` on `server` until `done` holds. */
export async function until(
  server: ServerProcess,
  id: string,
  done: (job: JobView) => boolean,
  timeoutMs = 120_000,
): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const current = await getJob(server, id);
    if (done(current)) return current;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const last = JSON.stringify(await getJob(server, id));
  throw new Error(`edit ${id}: condition not reached; last ${last}`);
}

/** A condition: running, with at least `steps` steps done. */
export const runningAfterSteps = (steps: number) => (job: JobView): boolean =>
  job.status === "running" && (job.progress?.index ?? 0) >= steps;
