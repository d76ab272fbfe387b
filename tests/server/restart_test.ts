/**
 * Jobs survive a server restart: a server process is killed (SIGKILL) mid-job and a new one is
 * started on the same KV file. The interrupted job runs again and completes; a job interrupted
 * twice fails with the reason; a queued job waiting behind it simply runs.
 */
import assert from "node:assert/strict";
import { decodeImage } from "../../src/image/mod.ts";
import { type JobView, JobViewSchema } from "../../src/server/mod.ts";
import { editForm, sourcePng } from "./helpers.ts";

const LEASE_MS = 1_000;
const png = await sourcePng();

/** A server subprocess on a KV file. */
class ServerProcess {
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  readonly #drained: Promise<void>;
  url = "";

  constructor(kvPath: string) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-kv",
        "tests/server/serve_process.ts",
        kvPath,
        String(LEASE_MS),
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
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (pending + text).split("\n");
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

async function job(server: ServerProcess, id: string): Promise<JobView> {
  return JobViewSchema.parse(await (await fetch(`${server.url}/v1/edits/${id}`)).json());
}

async function submit(server: ServerProcess, steps: number): Promise<JobView> {
  const response = await fetch(`${server.url}/v1/edits`, {
    method: "POST",
    body: editForm(png, { options: JSON.stringify({ steps, seed: 3 }) }),
  });
  assert.equal(response.status, 202);
  return JobViewSchema.parse(await response.json());
}

async function until(
  server: ServerProcess,
  id: string,
  done: (job: JobView) => boolean,
  timeoutMs = 120_000,
): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const current = await job(server, id);
    if (done(current)) return current;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `edit ${id}: condition not reached; last ${JSON.stringify(await job(server, id))}`,
  );
}

const runningAfterSteps = (steps: number) => (job: JobView) =>
  job.status === "running" && (job.progress?.index ?? 0) >= steps;

Deno.test("jobs survive a server restart: rerun once, then failed with the reason", async () => {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-kv-" });
  const kv = `${folder}/jobs.sqlite3`;
  const servers: ServerProcess[] = [];
  const start = async () => {
    const server = new ServerProcess(kv);
    servers.push(server);
    return await server.started();
  };
  try {
    const first = await start();
    const interrupted = await submit(first, 400);
    const waiting = await submit(first, 4);
    assert.equal(waiting.position, 1);
    await until(first, interrupted.id, runningAfterSteps(5));
    await first.kill();

    const second = await start();
    const rerun = await until(second, interrupted.id, (job) => job.status === "completed");
    assert.equal(rerun.attempts, 2, "the interrupted run counts, the rerun completes");
    assert.equal(rerun.result?.seed, 3);
    const queued = await until(second, waiting.id, (job) => job.status === "completed");
    assert.equal(queued.attempts, 1, "the queued job had not started");
    const result = await fetch(`${second.url}/v1/edits/${interrupted.id}/result`);
    assert.equal(result.status, 200);
    const image = await decodeImage(new Uint8Array(await result.arrayBuffer()));
    assert.deepEqual([image.width, image.height], [48, 40]);
    assert.ok(second.logs().some((record) => record.msg === "job requeued"));

    const doomed = await submit(second, 400);
    await until(second, doomed.id, runningAfterSteps(5));
    await second.kill();
    const third = await start();
    await until(third, doomed.id, (job) => job.attempts === 2 && runningAfterSteps(5)(job));
    await third.kill();
    const fourth = await start();
    const failed = await until(fourth, doomed.id, (job) => job.status === "failed");
    assert.equal(failed.attempts, 2);
    assert.equal(failed.error?.code, "internal");
    assert.match(failed.error!.message, /stopped while running this edit 2 times/);
    await fourth.kill();
  } finally {
    for (const server of servers) await server.kill().catch(() => {});
    await Deno.remove(folder, { recursive: true });
  }
});
