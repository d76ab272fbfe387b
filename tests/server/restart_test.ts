/**
 * Jobs survive a server restart: a server process is killed (SIGKILL) mid-job and a new one is
 * started on the same KV file. The interrupted job runs again and completes; a job interrupted
 * twice fails with the reason; a queued job waiting behind it simply runs.
 */
import assert from "node:assert/strict";
import { decodeImage } from "../../src/image/mod.ts";
import { runningAfterSteps, ServerProcess, submit, until } from "./process.ts";

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
