/**
 * `Engine.unload` and `Engine.reload`, in a Worker the engine starts, in a Worker the caller
 * gives, and in the caller's thread: unload frees (ends the worker, releases every session) and
 * keeps the engine; the next call or `reload` loads again, with the changes `reload` names.
 */
import assert from "node:assert/strict";
import { createEngineWith, type EnginePlatform } from "../../src/engine/engine.ts";
import { isEditMGTError } from "../../src/errors/mod.ts";
import type { Backend } from "../../src/model/backend.ts";
import { createBackend, denoSource } from "../../src/model/deno.ts";
import type { EditInput, EditProgress } from "../../src/pipeline/types.ts";
import { buildVariantPackage } from "../_shared/variant_package.ts";
import { diskImage, ORT_SANITIZERS, TINY_RANDOM } from "../pipeline/fixture.ts";

/** Kept before onnxruntime-web can replace it (see src/engine/deno.ts). */
const PlatformWorker: typeof Worker = globalThis.Worker;
const WORKER_SCRIPT = new URL("../../src/engine/worker.ts", import.meta.url);

const input: EditInput = {
  image: diskImage(24, 20),
  instruction: "make the red circle blue",
  options: { seed: 21, steps: 3 },
};

/** The engine's Deno worker, with every terminate counted. */
function countedWorker(counts: { started: number; ended: number }): Worker {
  const worker = new PlatformWorker(WORKER_SCRIPT, { type: "module" });
  counts.started++;
  const terminate = worker.terminate.bind(worker);
  worker.terminate = () => {
    counts.ended++;
    terminate();
  };
  return worker;
}

/** The Deno platform, whose backend counts the sessions alive. */
function countingPlatform(live: { sessions: number }): EnginePlatform {
  return {
    source: denoSource,
    createBackend: async (device, options): Promise<Backend> => {
      const backend = await createBackend(device, options);
      return {
        device: backend.device,
        capabilities: backend.capabilities,
        async createSession(graph) {
          const session = await backend.createSession(graph);
          live.sessions++;
          return {
            inputNames: session.inputNames,
            outputNames: session.outputNames,
            run: (feeds) => session.run(feeds),
            async release() {
              live.sessions--;
              await session.release();
            },
          };
        },
      };
    },
  };
}

Deno.test({
  name: "unload ends the worker the engine started; the next edit loads again, the same edit",
  ...ORT_SANITIZERS,
  async fn() {
    const counts = { started: 0, ended: 0 };
    const events: EditProgress["type"][] = [];
    const engine = createEngineWith({ startWorker: () => countedWorker(counts) }, {
      manifest: TINY_RANDOM,
      device: "node",
      onProgress: (event) => events.push(event.type),
    });
    try {
      const before = await engine.edit(input);
      await engine.unload();
      assert.deepEqual(counts, { started: 1, ended: 1 }, "unload ends the worker");
      await engine.unload();
      assert.equal(counts.ended, 1, "a second unload has nothing to end");
      const after = await engine.edit(input);
      assert.deepEqual(counts, { started: 2, ended: 1 }, "the edit started a worker again");
      await engine.ready;
      assert.deepEqual(after.image.data, before.image.data);
      assert.equal(events.filter((type) => type === "ready").length, 2);
      await engine.reload({ device: "wasm" });
      assert.deepEqual(counts, { started: 3, ended: 2 });
      const onWasm = await engine.edit(input);
      assert.equal(onWasm.device, "wasm");
    } finally {
      await engine.dispose();
    }
    assert.deepEqual(counts, { started: 3, ended: 3 });
    await assert.rejects(engine.edit(input), (error) => isEditMGTError(error, "internal"));
    await assert.rejects(engine.reload(), (error) => isEditMGTError(error, "internal"));
  },
});

Deno.test({
  name:
    "in the caller's thread, unload releases every session and reload loads the dtype asked for",
  ...ORT_SANITIZERS,
  async fn() {
    await using pkg = await buildVariantPackage();
    const live = { sessions: 0 };
    const ready: EditProgress[] = [];
    const engine = createEngineWith(countingPlatform(live), {
      manifest: pkg.manifest,
      device: "node",
      worker: false,
      memory: "keep",
      onProgress: (event) => event.type === "ready" && ready.push(event),
    });
    try {
      const base = await engine.edit(input);
      assert.ok(live.sessions > 0);
      await engine.unload();
      assert.equal(live.sessions, 0, "unload released every session");
      await engine.reload({ dtype: { transformer: "int8" } });
      assert.ok(live.sessions > 0);
      const int8 = await engine.edit(input);
      assert.equal(base.dtypes.transformer, "fp32");
      assert.equal(int8.dtypes.transformer, "int8");
      assert.deepEqual(int8.image.data, base.image.data, "the fake int8 graph is the fp32 one");
      assert.deepEqual(ready.map((event) => event.type === "ready" && event.dtypes.transformer), [
        "fp32",
        "int8",
      ]);
    } finally {
      await engine.dispose();
    }
    assert.equal(live.sessions, 0);
  },
});

Deno.test({
  name: "a Worker the caller gave survives unload, serves the reload and ends with dispose",
  ...ORT_SANITIZERS,
  async fn() {
    const counts = { started: 0, ended: 0 };
    const worker = countedWorker(counts);
    const engine = createEngineWith({}, { manifest: TINY_RANDOM, device: "node", worker });
    try {
      const before = await engine.edit(input);
      await engine.unload();
      assert.equal(counts.ended, 0, "unload keeps a worker it cannot start again");
      await engine.reload();
      const after = await engine.edit(input);
      assert.deepEqual(after.image.data, before.image.data);
    } finally {
      await engine.dispose();
    }
    assert.deepEqual(counts, { started: 1, ended: 1 });
  },
});

Deno.test({
  name:
    "an edit running during unload rejects with aborted; a cancelled load loads on the next call",
  ...ORT_SANITIZERS,
  async fn() {
    for (const worker of [true, false]) {
      const platform = worker
        ? { startWorker: () => countedWorker({ started: 0, ended: 0 }) }
        : countingPlatform({ sessions: 0 });
      const controller = new AbortController();
      const engine = createEngineWith(platform, {
        manifest: TINY_RANDOM,
        device: "node",
        worker,
        signal: controller.signal,
      });
      try {
        controller.abort();
        await assert.rejects(engine.ready, (error) => isEditMGTError(error, "aborted"));
        const long = engine.edit({ ...input, options: { seed: 1, steps: 40 } }, {
          onProgress: (event) => {
            if (event.type === "step" && event.index === 1) engine.unload();
          },
        });
        await assert.rejects(long, (error) => isEditMGTError(error, "aborted"), `worker ${worker}`);
        const next = await engine.edit(input);
        assert.equal(next.seed, 21);
      } finally {
        await engine.dispose();
      }
    }
  },
});
