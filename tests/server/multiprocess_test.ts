/**
 * Several processes share one queue through the KV file: a process that only accepts jobs
 * (`worker: false`) queues them, another runs them, and the first follows their progress (SSE)
 * and answers `Prefer: wait` and result requests from the shared store.
 */
import assert from "node:assert/strict";
import { decodeImage } from "../../src/image/mod.ts";
import { JobViewSchema } from "../../src/server/mod.ts";
import { editForm, readEvents, sourcePng } from "./helpers.ts";
import { ServerProcess } from "./process.ts";

const png = await sourcePng();

Deno.test("an accept-only process queues jobs that a worker process runs", async () => {
  const folder = await Deno.makeTempDir({ prefix: "editmgt-kv-" });
  const kv = `${folder}/jobs.sqlite3`;
  const front = new ServerProcess(kv, { worker: false });
  const back = new ServerProcess(kv);
  try {
    await Promise.all([front.started(), back.started()]);
    const queued = await fetch(`${front.url}/v1/edits`, {
      method: "POST",
      body: editForm(png, { options: JSON.stringify({ steps: 40, seed: 8, previewEvery: 10 }) }),
    });
    assert.equal(queued.status, 202);
    const job = JobViewSchema.parse(await queued.json());
    const events = await readEvents(await fetch(`${front.url}${job.urls.events}`));
    const names = events.map((event) => event.event);
    assert.equal(names.at(-1), "completed", names.join());
    assert.ok(names.includes("step"), "steps made in the other process reach this stream");
    assert.equal(events.at(-1)!.data.seed, 8);
    const result = await fetch(`${front.url}${job.urls.result}`);
    assert.equal(result.status, 200);
    const image = await decodeImage(new Uint8Array(await result.arrayBuffer()));
    assert.deepEqual([image.width, image.height], [48, 40]);

    const waited = await fetch(`${front.url}/v1/edits`, {
      method: "POST",
      body: editForm(png, { options: JSON.stringify({ steps: 4 }) }),
      headers: { prefer: "wait", accept: "image/png" },
    });
    assert.equal(waited.status, 200);
    assert.equal(waited.headers.get("content-type"), "image/png");
    await waited.body?.cancel();

    const ran = (server: ServerProcess) =>
      server.logs().filter((record) => record.msg === "job started").map((record) => record.job);
    assert.ok(ran(back).includes(job.id), "the worker process ran the job");
    assert.deepEqual(ran(front), [], "the accept-only process ran nothing");
  } finally {
    await front.kill();
    await back.kill();
    await Deno.remove(folder, { recursive: true });
  }
});
