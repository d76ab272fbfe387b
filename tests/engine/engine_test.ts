import assert from "node:assert/strict";
import { createEngine, type Engine } from "../../src/engine/mod.ts";
import { EditMGTError, isEditMGTError } from "../../src/errors/mod.ts";
import { encodeImage } from "../../src/image/codec.ts";
import type { EditInput, EditProgress } from "../../src/pipeline/types.ts";
import { diskImage, ORT_SANITIZERS, TINY_RANDOM } from "../pipeline/fixture.ts";
import { buildVariantPackage } from "../_shared/variant_package.ts";

const input: EditInput = {
  image: diskImage(40, 52),
  instruction: "make the red circle blue",
  options: { seed: 77, lambda: "auto" },
};

async function withEngine<T>(
  worker: boolean,
  use: (engine: Engine) => Promise<T>,
  device: "node" | "wasm" = "node",
): Promise<T> {
  const engine = createEngine({ manifest: TINY_RANDOM, device, worker });
  try {
    await engine.ready;
    return await use(engine);
  } finally {
    await engine.dispose();
  }
}

Deno.test({
  name: "the worker engine returns what the in-thread engine returns, byte for byte",
  ...ORT_SANITIZERS,
  async fn() {
    const edit = (engine: Engine) => engine.edit(input);
    const inWorker = await withEngine(true, edit);
    const inThread = await withEngine(false, edit);
    assert.deepEqual(await encodeImage(inWorker.image), await encodeImage(inThread.image));
    assert.deepEqual(inWorker.localization, inThread.localization);
    assert.deepEqual(inWorker.mask, inThread.mask);
    assert.equal(inWorker.seed, 77);
    assert.equal(inWorker.device, "node");
  },
});

Deno.test({
  name: "the worker engine forwards load progress, step progress and previews",
  ...ORT_SANITIZERS,
  async fn() {
    const loading: EditProgress[] = [];
    const engine = createEngine({
      manifest: TINY_RANDOM,
      device: "node",
      onProgress: (event) => loading.push(event),
    });
    try {
      await engine.ready;
      const downloads = loading.filter((event) => event.type === "download");
      assert.ok(downloads.length > 0);
      const last = downloads.at(-1)!;
      assert.ok(last.type === "download" && last.loaded === last.total && last.total > 0);
      const fp32 = "fp32" as const;
      assert.deepEqual(loading.at(-1), {
        type: "ready",
        device: "node",
        dtypes: { text_encoder: fp32, vq_encoder: fp32, vq_decoder: fp32, transformer: fp32 },
      });

      const steps: EditProgress[] = [];
      await engine.edit(
        { ...input, options: { seed: 1, steps: 4, previewEvery: 2 } },
        { onProgress: (event) => steps.push(event) },
      );
      assert.deepEqual(
        steps.map((event) =>
          event.type === "step" ? `${event.index}${event.preview ? "+" : ""}` : event.type
        ),
        ["1", "2+", "3", "4", "done"],
      );
    } finally {
      await engine.dispose();
    }
  },
});

Deno.test({
  name: 'memory "release" and fit "pad" reach the worker: the edit matches the in-thread one',
  ...ORT_SANITIZERS,
  async fn() {
    const padded = { ...input, options: { ...input.options, fit: "pad" as const } };
    const results = await Promise.all([true, false].map(async (worker) => {
      const engine = createEngine({
        manifest: TINY_RANDOM,
        device: "node",
        worker,
        memory: "release",
      });
      try {
        await engine.ready;
        return await engine.edit(padded);
      } finally {
        await engine.dispose();
      }
    }));
    assert.deepEqual(results[0].image.data, results[1].image.data);
    const kept = await withEngine(false, (engine) => engine.edit(padded));
    assert.deepEqual(results[0].image.data, kept.image.data, "release edits as keep does");
    const squashed = await withEngine(false, (engine) => engine.edit(input));
    assert.notDeepEqual(squashed.mask.data, kept.mask.data, "pad is not squash");
  },
});

Deno.test({
  name: "the worker engine loads the dtype asked for and reports it on ready and in results",
  ...ORT_SANITIZERS,
  async fn() {
    await using pkg = await buildVariantPackage();
    const loading: EditProgress[] = [];
    const engine = createEngine({
      manifest: pkg.manifest,
      device: "node",
      dtype: { transformer: "fp16" },
      onProgress: (event) => loading.push(event),
    });
    try {
      await engine.ready;
      const ready = loading.at(-1);
      assert.ok(ready?.type === "ready" && ready.dtypes.transformer === "fp16");
      assert.equal(ready.dtypes.vq_decoder, "fp32");
      const result = await engine.edit({ ...input, options: { seed: 2, steps: 2 } });
      assert.equal(result.dtypes.transformer, "fp16");
    } finally {
      await engine.dispose();
    }
  },
});

Deno.test({
  name: "the caller's thread keeps running its own tasks while the worker computes each step",
  ...ORT_SANITIZERS,
  async fn() {
    // A chain of timer tasks on the caller's thread, counted at each step event. An engine in the
    // caller's thread (worker: false on wasm) runs a whole edit with the count standing still:
    // no task of the caller runs until it is done. Counts, not milliseconds: no clock involved.
    await withEngine(true, async (engine) => {
      let ticks = 0;
      let running = true;
      const chain = (async () => {
        while (running) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          ticks++;
        }
      })();
      const atSteps: number[] = [];
      const steps = 24;
      try {
        await engine.edit({ ...input, options: { seed: 2, steps } }, {
          onProgress: (event) => {
            if (event.type === "step") atSteps.push(ticks);
          },
        });
      } finally {
        running = false;
        await chain;
      }
      assert.equal(atSteps.length, steps);
      const advanced = atSteps.slice(1).filter((count, i) => count > atSteps[i]).length;
      assert.ok(
        advanced >= (steps - 1) / 2,
        `the caller's tasks ran during only ${advanced} of ${steps - 1} steps (counts ${atSteps})`,
      );
    }, "wasm");
  },
});

Deno.test({
  name: "aborting a worker edit rejects with aborted at once; the engine keeps working",
  ...ORT_SANITIZERS,
  async fn() {
    await withEngine(true, async (engine) => {
      const controller = new AbortController();
      let lastStep = 0;
      await assert.rejects(
        engine.edit({ ...input, options: { steps: 40 } }, {
          signal: controller.signal,
          onProgress: (event) => {
            if (event.type !== "step") return;
            lastStep = event.index;
            if (event.index === 2) controller.abort();
          },
        }),
        (error) => isEditMGTError(error, "aborted"),
      );
      assert.ok(lastStep < 40);
      await assert.rejects(
        engine.edit(input, { signal: AbortSignal.abort() }),
        (error) => isEditMGTError(error, "aborted"),
      );
      const result = await engine.edit({ ...input, options: { seed: 5, steps: 3 } });
      assert.equal(result.seed, 5);
    });
  },
});

Deno.test({
  name: "errors in the worker come back as EditMGTErrors with their codes",
  ...ORT_SANITIZERS,
  async fn() {
    const gif = await Deno.readFile(
      new URL("../fixtures/images/pattern-7x5.gif", import.meta.url),
    );
    await withEngine(true, async (engine) => {
      const failures: [EditInput, string][] = [
        [{ ...input, instruction: "" }, "invalid_input"],
        [{ ...input, image: gif }, "unsupported_format"],
        [{ ...input, options: { gamma: -1 } }, "invalid_option"],
        [{ ...input, options: { focus: "zebra" } }, "invalid_option"],
      ];
      for (const [request, code] of failures) {
        const error = await engine.edit(request).then(() => null, (error: unknown) => error);
        assert.ok(error instanceof EditMGTError, `${code}: ${error}`);
        assert.equal(error.code, code, error.message);
        assert.ok(error.message.length > 0);
      }
      const region = await engine.previewRegion(input);
      assert.deepEqual([region.width, region.height], [16, 16], "the change map, on the VQ grid");
    });
  },
});

Deno.test({
  name: "a model that cannot load rejects ready and every call with its error",
  ...ORT_SANITIZERS,
  async fn() {
    for (const worker of [true, false]) {
      const engine = createEngine({
        manifest: new URL("../fixtures/no-such-model/manifest.json", import.meta.url),
        device: "node",
        worker,
      });
      await assert.rejects(engine.ready, (error) => isEditMGTError(error, "not_found"));
      await assert.rejects(engine.edit(input), (error) => isEditMGTError(error, "not_found"));
      await engine.dispose();
    }
  },
});

Deno.test({
  name: "after dispose, calls reject; dispose is idempotent",
  ...ORT_SANITIZERS,
  async fn() {
    for (const worker of [true, false]) {
      const engine = createEngine({ manifest: TINY_RANDOM, device: "node", worker });
      await engine.ready;
      await engine.dispose();
      await engine.dispose();
      await assert.rejects(engine.edit(input), (error) => isEditMGTError(error, "internal"));
    }
  },
});

Deno.test({
  name: "a Worker engine still starts after onnxruntime-web WASM ran in the caller's thread",
  ...ORT_SANITIZERS,
  async fn() {
    const inThread = createEngine({ manifest: TINY_RANDOM, device: "wasm", worker: false });
    await inThread.ready;
    await inThread.dispose();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the worker engine never became ready")), 60_000);
    });
    try {
      await Promise.race([
        stalled,
        withEngine(true, async (engine) => {
          const result = await engine.edit({ ...input, options: { seed: 3, steps: 2 } });
          assert.equal(result.seed, 3);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  },
});

Deno.test({
  name: "the Worker engine runs on every device (webgpu and wasm inside a Deno Worker too)",
  ...ORT_SANITIZERS,
  async fn() {
    for (const device of ["wasm", "webgpu"] as const) {
      const engine = createEngine({ manifest: TINY_RANDOM, device });
      try {
        await engine.ready;
        const result = await engine.edit({ ...input, options: { seed: 8, steps: 2 } });
        assert.equal(result.device, device);
        assert.deepEqual([result.image.width, result.image.height], [40, 52]);
      } finally {
        await engine.dispose();
      }
    }
  },
});
