/**
 * Load, run, release: under `memory: "release"` each graph is loaded when its phase starts and
 * released after it, so one session is alive at a time; prompt features are cached, so words
 * seen before load no text encoder. `"keep"` (what `"auto"` picks for a small model) loads
 * everything once.
 */
import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";
import { createBackend, denoSource } from "../../src/model/deno.ts";
import { syntheticPackage } from "../_shared/synthetic_package.ts";
import { diskImage, loadTinyRandom, ORT_SANITIZERS, TINY_RANDOM } from "./fixture.ts";

const source = diskImage(50, 37);
const instruction = "make the red circle blue";
const ONE_EDIT = ["+text", "-text", "+vq-encode", "-vq-encode", "+step", "-step"];

Deno.test({
  name: 'memory "release": each graph lives for its phase only, in order, one at a time',
  ...ORT_SANITIZERS,
  async fn() {
    const { pipeline, backend } = await loadTinyRandom("node", TINY_RANDOM, { memory: "release" });
    try {
      assert.equal(pipeline.memory, "release");
      assert.equal(backend.created, 0, "the load verifies files but makes no session");
      const result = await pipeline.edit({ image: source, instruction, options: { seed: 3 } });
      assert.deepEqual([result.image.width, result.image.height], [50, 37]);
      assert.deepEqual(backend.log, [...ONE_EDIT, "+vq-decode", "-vq-decode"]);
      assert.equal(backend.peakAlive, 1);
      assert.equal(backend.alive, 0, "nothing stays loaded between edits");
      assert.equal(backend.runs.step.length, pipeline.manifest.defaults.steps);
    } finally {
      await pipeline.dispose();
    }
  },
});

Deno.test({
  name: 'memory "release": an edit with the same words loads no text encoder',
  ...ORT_SANITIZERS,
  async fn() {
    const { pipeline, backend } = await loadTinyRandom("node", TINY_RANDOM, { memory: "release" });
    try {
      const options = { seed: 1, steps: 2, negativePrompt: "a blur" };
      await pipeline.edit({ image: source, instruction, options });
      const textRuns = backend.runs.text.length;
      backend.log.length = 0;
      await pipeline.edit({
        image: diskImage(40, 40),
        instruction,
        options: { ...options, seed: 2 },
      });
      assert.equal(backend.runs.text.length, textRuns, "no prompt was encoded again");
      assert.deepEqual(backend.log, ONE_EDIT.slice(2).concat("+vq-decode", "-vq-decode"));

      backend.log.length = 0;
      await pipeline.edit({ image: source, instruction: "remove the circle", options });
      assert.equal(backend.runs.text.length, textRuns + 1, "only the new instruction");
      assert.deepEqual(backend.log.slice(0, 2), ["+text", "-text"]);
    } finally {
      await pipeline.dispose();
    }
  },
});

Deno.test({
  name: 'memory "release": previews keep the VQ decoder with the transformer for the steps',
  ...ORT_SANITIZERS,
  async fn() {
    const { pipeline, backend } = await loadTinyRandom("node", TINY_RANDOM, { memory: "release" });
    try {
      await pipeline.edit(
        { image: source, instruction, options: { seed: 2, steps: 4, previewEvery: 2 } },
        { onProgress: () => {} },
      );
      assert.deepEqual(backend.log.slice(4), [
        "+step",
        "+vq-decode",
        "-step",
        "-vq-decode",
        "+vq-decode",
        "-vq-decode",
      ]);
      assert.equal(backend.peakAlive, 2);
    } finally {
      await pipeline.dispose();
    }
  },
});

Deno.test({
  name: "previewRegion under release loads each graph it needs for its one step",
  ...ORT_SANITIZERS,
  async fn() {
    const { pipeline, backend } = await loadTinyRandom("node", TINY_RANDOM, { memory: "release" });
    try {
      await pipeline.previewRegion({ image: source, instruction });
      assert.deepEqual(backend.log, ONE_EDIT);
      assert.equal(backend.peakAlive, 1);
    } finally {
      await pipeline.dispose();
    }
  },
});

Deno.test({
  name: 'memory "auto" keeps every session of a small model; "release" and "keep" edit alike',
  ...ORT_SANITIZERS,
  async fn() {
    const kept = await loadTinyRandom("node");
    const released = await loadTinyRandom("node", TINY_RANDOM, { memory: "release" });
    try {
      assert.equal(kept.pipeline.memory, "keep");
      assert.equal(kept.backend.created, 4);
      const edit = { image: source, instruction, options: { seed: 8, steps: 4 } };
      const a = await kept.pipeline.edit(edit);
      const b = await released.pipeline.edit(edit);
      assert.deepEqual(a.image.data, b.image.data);
      assert.equal(kept.backend.created, 4, "no session was made again");
      assert.equal(kept.backend.released, 0);
    } finally {
      await kept.pipeline.dispose();
      await released.pipeline.dispose();
    }
    assert.equal(kept.backend.released, 4);
    assert.equal(released.backend.alive, 0);
  },
});

Deno.test({
  name: "a memory value other than auto, keep or release is an invalid_option at load",
  ...ORT_SANITIZERS,
  async fn() {
    await assert.rejects(
      EditPipeline.load(TINY_RANDOM, {
        device: "node",
        source: denoSource,
        createBackend,
        memory: "some" as "keep",
      }),
      (error) => isEditMGTError(error, "invalid_option") && /memory/.test(error.message),
    );
  },
});

Deno.test({
  name: 'memory "release" with the real layout: Gemma-2, then CLIP, each released before the next',
  ...ORT_SANITIZERS,
  async fn() {
    const folder = await syntheticPackage();
    const { pipeline, backend } = await loadTinyRandom(
      "node",
      new URL(`file://${folder}manifest.json`),
      { memory: "release" },
    );
    try {
      await pipeline.edit({ image: source, instruction, options: { seed: 4, steps: 2 } });
      assert.deepEqual(backend.log, [
        "+text", // the context encoder (Gemma-2), for the negative prompt and the instruction
        "-text",
        "+text", // the pooled encoder (CLIP)
        "-text",
        ...ONE_EDIT.slice(2),
        "+vq-decode",
        "-vq-decode",
      ]);
      assert.equal(backend.peakAlive, 1);
      assert.equal(backend.runs.text.length, 4, "two prompts through each encoder");
    } finally {
      await pipeline.dispose();
    }
  },
});

Deno.test({
  name:
    'memory "release": reading files again in an edit reports no download and ignores the load signal',
  ...ORT_SANITIZERS,
  async fn() {
    const events: string[] = [];
    const controller = new AbortController();
    const { pipeline } = await loadTinyRandom("node", TINY_RANDOM, {
      memory: "release",
      signal: controller.signal,
      onProgress: (event) => events.push(event.type),
    });
    try {
      assert.equal(events.at(-1), "ready");
      assert.ok(events.includes("download"));
      const loadEvents = events.length;
      controller.abort(); // cancels loading only; the load is over
      const result = await pipeline.edit({ image: source, instruction, options: { seed: 1 } });
      assert.equal(result.seed, 1);
      assert.equal(events.length, loadEvents, "no load progress during the edit");
    } finally {
      await pipeline.dispose();
    }
  },
});
