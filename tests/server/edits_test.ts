import assert from "node:assert/strict";
import { decodeImage, encodeImage } from "../../src/image/mod.ts";
import { ErrorBodySchema, JobViewSchema, ResultJsonSchema } from "../../src/server/mod.ts";
import {
  editForm,
  FIXTURE_ID,
  readEvents,
  sourceImage,
  sourcePng,
  startServer,
  waitFinal,
} from "./helpers.ts";

const png = await sourcePng();
const post = (form: FormData | string, headers: Record<string, string> = {}) => ({
  method: "POST",
  body: form,
  headers: typeof form === "string" ? { "content-type": "application/json", ...headers } : headers,
});

Deno.test("edits on the real fixture engine", async (t) => {
  const server = await startServer();
  const { app } = server;
  try {
    await t.step("Prefer: wait answers 200 with the result: seed echoed, maps, image", async () => {
      const response = await app.request(
        "/v1/edits",
        post(editForm(png, { options: JSON.stringify({ seed: 5, steps: 4 }) }), { prefer: "wait" }),
      );
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("preference-applied"), "wait");
      assert.equal(response.headers.get("x-edit-seed"), "5");
      const body = ResultJsonSchema.parse(await response.json());
      assert.equal(body.status, "completed");
      assert.equal(body.model, FIXTURE_ID);
      assert.equal(body.result!.seed, 5);
      assert.deepEqual([body.result!.width, body.result!.height], [48, 40]);
      const { localization, mask } = body.result!;
      // The default map is the change map, on the VQ token grid (the attention map's is 8x8).
      assert.deepEqual([localization!.width, localization!.height], [16, 16]);
      assert.equal(localization!.data.length, 256);
      assert.ok(localization!.data.every((value) => value >= 0 && value <= 1));
      assert.ok(localization!.lambda >= 0 && localization!.lambda <= 1);
      assert.deepEqual([mask!.width, mask!.height], [16, 16]);
      assert.ok(mask!.data.every((value) => value === 0 || value === 1));
      const image = await decodeImage(
        Uint8Array.from(atob(body.image.base64), (c) => c.charCodeAt(0)),
      );
      assert.deepEqual([image.width, image.height], [48, 40]);
    });

    await t.step("the same seed gives the same bytes; Accept picks the image format", async () => {
      const results: Uint8Array[] = [];
      for (let i = 0; i < 2; i++) {
        const response = await app.request(
          "/v1/edits",
          post(editForm(png, { options: JSON.stringify({ seed: 11, steps: 3 }) }), {
            prefer: "wait",
            accept: "image/png",
          }),
        );
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("content-type"), "image/png");
        results.push(new Uint8Array(await response.arrayBuffer()));
      }
      assert.deepEqual(results[0], results[1]);
      const webp = await app.request(
        "/v1/edits",
        post(editForm(png, { options: JSON.stringify({ seed: 11, steps: 3 }) }), {
          prefer: "wait",
          accept: "image/webp, */*",
        }),
      );
      assert.equal(webp.headers.get("content-type"), "image/webp");
      assert.equal((await decodeImage(new Uint8Array(await webp.arrayBuffer()))).format, "webp");
    });

    await t.step(
      "without Prefer: 202 {id, status, urls}, SSE to completed, then results",
      async () => {
        const response = await app.request(
          "/v1/edits",
          post(editForm(png, { options: JSON.stringify({ seed: 2, steps: 6, previewEvery: 2 }) })),
        );
        assert.equal(response.status, 202);
        const job = JobViewSchema.parse(await response.json());
        assert.equal(response.headers.get("location"), `/v1/edits/${job.id}`);
        assert.ok(["queued", "running"].includes(job.status));
        assert.equal(job.urls.events, `/v1/edits/${job.id}/events`);

        const events = await readEvents(
          await fetch(`${server.url}${job.urls.events}`),
        );
        const names = events.map((event) => event.event);
        assert.equal(names.at(-1), "completed");
        const steps = events.filter((event) => event.event === "step").map((event) => event.data);
        assert.ok(steps.length >= 1);
        assert.deepEqual(steps.at(-1), { index: 6, total: 6 });
        assert.ok(
          steps.every((step, i) =>
            i === 0 || (step.index as number) > (steps[i - 1].index as number)
          ),
        );
        const previews = events.filter((event) => event.event === "preview");
        assert.ok(previews.length >= 1, `previews in ${names}`);
        const preview = previews.at(-1)!.data;
        assert.match(preview.image as string, /^data:image\/png;base64,/);
        const previewImage = await decodeImage(
          Uint8Array.from(atob((preview.image as string).split(",")[1]), (c) => c.charCodeAt(0)),
        );
        assert.deepEqual([previewImage.width, previewImage.height], [64, 64], "model resolution");
        assert.equal(events.at(-1)!.data.seed, 2);

        const final = JobViewSchema.parse(await (await app.request(job.urls.self)).json());
        assert.equal(final.status, "completed");
        assert.equal(final.attempts, 1);
        assert.equal(final.result!.localization!.data.length, 256);

        const formats = [["png", "image/png"], ["jpeg", "image/jpeg"], ["webp", "image/webp"]];
        for (const [format, type] of formats) {
          const result = await app.request(`${job.urls.result}?format=${format}`);
          assert.equal(result.status, 200);
          assert.equal(result.headers.get("content-type"), type);
          const image = await decodeImage(new Uint8Array(await result.arrayBuffer()));
          assert.deepEqual([image.format, image.width, image.height], [format, 48, 40]);
        }
        const resized = await app.request(`${job.urls.result}?size=24x20`);
        const small = await decodeImage(new Uint8Array(await resized.arrayBuffer()));
        assert.deepEqual([small.width, small.height], [24, 20]);
        const json = ResultJsonSchema.parse(
          await (await app.request(`${job.urls.result}?format=json`)).json(),
        );
        assert.equal(json.result!.seed, 2);
      },
    );

    await t.step(
      "JSON bodies with base64 images and an inpainting mask keep the rest",
      async () => {
        const mask = sourceImage();
        for (let i = 0; i < mask.data.length; i += 4) {
          const x = (i / 4) % 48;
          mask.data.set(x < 24 ? [255, 255, 255, 255] : [0, 0, 0, 255], i);
        }
        const body = JSON.stringify({
          instruction: "make the red square blue",
          model: FIXTURE_ID,
          options: { seed: 9, steps: 4, composite: true },
          image: `data:image/png;base64,${btoa(String.fromCharCode(...png))}`,
          mask: btoa(String.fromCharCode(...await encodeImage(mask))),
        });
        const response = await app.request("/v1/edits", post(body, { prefer: "wait" }));
        assert.equal(response.status, 200);
        const result = ResultJsonSchema.parse(await response.json());
        const tokens = result.result!.mask!;
        for (let y = 0; y < tokens.height; y++) {
          for (let x = tokens.width / 2; x < tokens.width; x++) {
            assert.equal(
              tokens.data[y * tokens.width + x],
              0,
              `token ${x},${y} is outside the mask`,
            );
          }
        }
        const edited = await decodeImage(
          Uint8Array.from(atob(result.image.base64), (c) => c.charCodeAt(0)),
        );
        const source = sourceImage();
        for (let y = 0; y < 40; y++) {
          for (let x = 36; x < 48; x++) {
            const at = (y * 48 + x) * 4;
            assert.deepEqual([...edited.data.slice(at, at + 4)], [
              ...source.data.slice(at, at + 4),
            ]);
          }
        }
      },
    );

    await t.step("cancel: a running job stops and fails with aborted", async () => {
      const response = await app.request(
        "/v1/edits",
        post(editForm(png, { options: JSON.stringify({ steps: 1000 }) })),
      );
      const job = JobViewSchema.parse(await response.json());
      let stepAtCancel: number | undefined;
      for (let i = 0; i < 400 && stepAtCancel === undefined; i++) {
        const view = JobViewSchema.parse(await (await app.request(job.urls.self)).json());
        if (view.status === "running" && view.progress) stepAtCancel = view.progress.index;
        else await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(stepAtCancel !== undefined, "the job reported a step while running");
      const cancel = await app.request(job.urls.cancel, { method: "POST" });
      assert.ok([200, 202].includes(cancel.status));
      await cancel.body?.cancel();
      const final = await waitFinal(app, job.id);
      assert.equal(final.status, "cancelled");
      assert.equal((final.error as { code: string }).code, "aborted");
      const events = await readEvents(await app.request(job.urls.events));
      assert.equal(events.at(-1)?.event, "failed");
      const lastStep = events.findLast((event) => event.event === "step")?.data.index as number;
      assert.ok(
        lastStep - stepAtCancel < 100,
        `stops within a few steps: cancelled at step ${stepAtCancel}, stopped at ${lastStep} of 1000`,
      );
      const result = await app.request(job.urls.result);
      assert.equal(result.status, 499, "a cancelled job's result answers its error, for good");
      const body = ErrorBodySchema.parse(await result.json());
      assert.equal(body.error.code, "aborted");
      assert.doesNotMatch(body.error.message, /wait for/);
      const again = await app.request(job.urls.cancel, { method: "POST" });
      assert.equal(again.status, 200, "cancelling a final job changes nothing");
      assert.equal((await again.json()).status, "cancelled");
    });

    await t.step("health checks answer while an edit runs", async () => {
      const response = await app.request(
        "/v1/edits",
        post(editForm(png, { options: JSON.stringify({ steps: 1000 }) })),
      );
      const job = JobViewSchema.parse(await response.json());
      let running = 0;
      for (let i = 0; i < 200 && running < 3; i++) {
        const ready = await fetch(`${server.url}/readyz`);
        await ready.body?.cancel();
        assert.equal(ready.status, 200);
        const view = await (await app.request(job.urls.self)).json();
        if (view.status === "running") running++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(running, 3, "saw the job running three times");
      await (await app.request(job.urls.cancel, { method: "POST" })).body?.cancel();
      await waitFinal(app, job.id);
    });
  } finally {
    await server.close();
  }
});

Deno.test("queue limit: 429 queue_full with Retry-After; queued jobs cancel at once", async () => {
  const server = await startServer({ queue: { maxJobs: 2 } });
  const { app } = server;
  try {
    const slow = editForm(png, { options: JSON.stringify({ steps: 500 }) });
    const first = JobViewSchema.parse(await (await app.request("/v1/edits", post(slow))).json());
    const second = JobViewSchema.parse(await (await app.request("/v1/edits", post(slow))).json());
    assert.equal(second.position, 1);
    const third = await app.request("/v1/edits", post(slow));
    assert.equal(third.status, 429);
    assert.match(third.headers.get("retry-after")!, /^[1-9]\d*$/);
    assert.equal((await third.json()).error.code, "queue_full");
    const health = await app.request("/healthz");
    assert.equal(health.status, 200);
    await health.body?.cancel();

    const cancelled = await app.request(second.urls.cancel, { method: "POST" });
    assert.equal(cancelled.status, 200);
    assert.equal((await cancelled.json()).status, "cancelled");
    const fourth = await app.request("/v1/edits", post(slow));
    assert.equal(fourth.status, 202, "a cancelled job frees its slot");
    const fourthJob = await fourth.json();
    for (const job of [first, fourthJob]) {
      await (await app.request(`/v1/edits/${job.id}/cancel`, { method: "POST" })).body?.cancel();
      assert.equal((await waitFinal(app, job.id)).status, "cancelled");
    }
  } finally {
    await server.close();
  }
});

Deno.test("per-job timeout: a job running past jobTimeoutMs fails with timeout", async () => {
  const server = await startServer({ queue: { jobTimeoutMs: 300 } });
  try {
    const response = await server.app.request(
      "/v1/edits",
      post(editForm(png, { options: JSON.stringify({ steps: 1000 }) }), { prefer: "wait" }),
    );
    assert.equal(response.status, 504);
    const body = ErrorBodySchema.parse(await response.json());
    assert.equal(body.error.code, "timeout");
    assert.match(body.error.message, /300 ms/);
  } finally {
    await server.close();
  }
});

Deno.test("results expire after resultTtlMs, on the store's clock", async () => {
  let frozen: number | undefined;
  const server = await startServer({
    queue: { resultTtlMs: 60_000 },
    clock: () => frozen ?? Date.now(),
  });
  try {
    const response = await server.app.request(
      "/v1/edits",
      post(editForm(png, { options: JSON.stringify({ steps: 2 }) }), { prefer: "wait" }),
    );
    const { urls } = JobViewSchema.parse(await response.json());
    const view = JobViewSchema.parse(await (await server.app.request(urls.self)).json());
    const expiresAt = Date.parse(view.expiresAt!);
    assert.equal(expiresAt - Date.parse(view.finishedAt!), 60_000);
    frozen = expiresAt - 1;
    for (const url of [urls.self, urls.result]) {
      const kept = await server.app.request(url);
      assert.equal(kept.status, 200, `${url} a millisecond before it expires`);
      await kept.body?.cancel();
    }
    frozen = expiresAt;
    for (const url of [urls.self, urls.result]) {
      const gone = await server.app.request(url);
      assert.equal(gone.status, 404, url);
      assert.equal((await gone.json()).error.code, "not_found");
    }
  } finally {
    await server.close();
  }
});

Deno.test("Prefer: wait, then the client goes away: the job is cancelled", async () => {
  const server = await startServer();
  try {
    const controller = new AbortController();
    const request = new Request("http://localhost/v1/edits", {
      ...post(editForm(png, { options: JSON.stringify({ steps: 1000 }) }), { prefer: "wait" }),
      signal: controller.signal,
    });
    const answer = server.app.request(request);
    let id: string | undefined;
    for (let i = 0; i < 500 && id === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      id = server.logs.find((record) => record.msg === "job started")?.job as string | undefined;
    }
    assert.ok(id, "the job started");
    controller.abort();
    const response = await answer;
    assert.equal(response.status, 499);
    assert.equal((await response.json()).error.code, "aborted");
    const final = await waitFinal(server.app, id!);
    assert.equal(final.status, "cancelled");
    assert.ok(server.logs.some((record) => record.msg === "client went away; edits cancelled"));
  } finally {
    await server.close();
  }
});
