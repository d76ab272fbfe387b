import assert from "node:assert/strict";
import { isEditMGTError } from "../../src/errors/mod.ts";
import type { Backend, DeviceName, ModelTensor } from "../../src/model/backend.ts";
import { loadModelComponents, type ModelComponents } from "../../src/model/components.ts";
import { openLocalModelPackage } from "../../src/model/deno.ts";
import { openModelPackage } from "../../src/model/package.ts";
import { createBackend } from "../../src/model/deno.ts";
import { fetchSource } from "../../src/model/source.ts";
import type { StepInput } from "../../src/sampler/model.ts";
import {
  copyModelBasic,
  editManifest,
  loadGoldens,
  maxAbsDifference,
  MODEL_BASIC,
  spyBackend,
} from "./fixture.ts";

const sanitizers = { sanitizeOps: false, sanitizeResources: false };
const TOLERANCE = 1e-5;
const goldens = await loadGoldens();
const modelBasicPath = decodeURIComponent(MODEL_BASIC.pathname);
const node = await createBackend("node");

const instructionIds = new Int32Array([2, 3, 4, 6]); // "make the red circle", golden row 0
const golden = (graph: string, name: string) => goldens[graph].outputs[name];
const float32 = (data: Float32Array, dims: number[]): ModelTensor => ({
  type: "float32",
  data,
  dims,
});
const int32AsInt64 = (ids: Int32Array, dims: number[]): ModelTensor => ({
  type: "int64",
  data: BigInt64Array.from(ids, BigInt),
  dims,
});
const ids = (graph: string, name: string) =>
  Int32Array.from(goldens[graph].inputs[name].data as BigInt64Array, Number);

/** The golden step input of model-basic, as the sampler passes it. */
function goldenStepInput(): StepInput {
  const inputs = goldens.transformer.inputs;
  return {
    tokens: ids("transformer", "tokens"),
    refTokens: ids("transformer", "ref_tokens"),
    timestep: inputs.timestep.data[0] as number,
    logGamma: inputs.log_gamma.data[0] as number,
    guidanceScale: inputs.guidance_scale.data[0] as number,
    uniform: inputs.uniform.data as Float32Array,
  };
}

async function withComponents(
  device: DeviceName,
  use: (components: ModelComponents) => Promise<void>,
): Promise<void> {
  await using components = await loadModelComponents(
    await openLocalModelPackage(modelBasicPath),
    await createBackend(device),
  );
  await use(components);
}

for (const device of ["node", "wasm", "webgpu"] as const) {
  Deno.test({
    name: `${device}: text, VQ and step calls reproduce the numpy goldens through typed arrays`,
    ...sanitizers,
    fn: () =>
      withComponents(device, async (components) => {
        assert.equal(components.device, device);
        const instruction = await components.encodeText(instructionIds);
        const negative = await components.encodeText(new Int32Array(0)); // all padding, golden row 1
        const context = golden("text_encoder", "context").data as Float32Array;
        const pooled = golden("text_encoder", "pooled").data as Float32Array;
        assert.ok(
          maxAbsDifference(
            float32(instruction.context, [4, 6]),
            float32(context.subarray(0, 24), [4, 6]),
          ) <
            TOLERANCE,
        );
        assert.ok(
          maxAbsDifference(
            float32(negative.context, [4, 6]),
            float32(context.subarray(24), [4, 6]),
          ) <
            TOLERANCE,
        );
        assert.ok(
          maxAbsDifference(float32(negative.pooled, [5]), float32(pooled.subarray(5), [5])) <
            TOLERANCE,
        );

        const tokens = await components.vqEncode(
          goldens.vq_encoder.inputs.pixels.data as Float32Array,
        );
        assert.ok(tokens instanceof Int32Array);
        assert.equal(
          maxAbsDifference(int32AsInt64(tokens, [1, 4, 4]), golden("vq_encoder", "tokens")),
          0,
        );

        const pixels = await components.vqDecode(ids("vq_decoder", "tokens"));
        assert.ok(
          maxAbsDifference(float32(pixels, [1, 3, 16, 16]), golden("vq_decoder", "pixels")) <
            TOLERANCE,
        );

        const step = components.stepModel({ negative, instruction });
        const output = await step.step(goldenStepInput());
        assert.ok(output.sampled instanceof Int32Array);
        assert.equal(
          maxAbsDifference(int32AsInt64(output.sampled, [1, 16]), golden("transformer", "sampled")),
          0,
        );
        for (
          const [name, actual] of [
            ["sampled_logprob", output.sampledLogprob],
            ["ref_logprob", output.refLogprob],
            ["text_attention", output.textAttention],
          ] as const
        ) {
          const expected = golden("transformer", name);
          const difference = maxAbsDifference(float32(actual, [...expected.dims]), expected);
          assert.ok(difference < TOLERANCE, `${name} differs by ${difference}`);
        }
      }),
  });
}

Deno.test({
  name:
    "the step adapter feeds micro_conds from the manifest: other values change the step's log-probs",
  ...sanitizers,
  async fn() {
    const folder = await copyModelBasic();
    try {
      await editManifest(folder, (manifest) => {
        (manifest.transformer as { microConds: number[] }).microConds = [0, 0, 0, 0, 0];
      });
      await withComponentsAt(folder, async (components) => {
        const text = await components.encodeText(instructionIds);
        const output = await components.stepModel({ negative: text, instruction: text })
          .step(goldenStepInput());
        const reference = await withComponentsResult(
          modelBasicPath,
          (c) => c.stepModel({ negative: text, instruction: text }).step(goldenStepInput()),
        );
        assert.notDeepEqual(output.sampledLogprob, reference.sampledLogprob);
      });
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
});

async function withComponentsAt(folder: string, use: (c: ModelComponents) => Promise<void>) {
  await using components = await loadModelComponents(await openLocalModelPackage(folder), node);
  await use(components);
}

async function withComponentsResult<T>(folder: string, use: (c: ModelComponents) => Promise<T>) {
  await using components = await loadModelComponents(await openLocalModelPackage(folder), node);
  return await use(components);
}

Deno.test({
  name: "inputs of the wrong size and prompts over the text length are invalid_input",
  ...sanitizers,
  fn: () =>
    withComponents("node", async (components) => {
      const invalid = (error: unknown) => isEditMGTError(error, "invalid_input");
      await assert.rejects(components.encodeText(new Int32Array(5)), invalid);
      await assert.rejects(components.vqEncode(new Float32Array(3 * 16 * 15)), invalid);
      await assert.rejects(components.vqDecode(new Int32Array(15)), invalid);
      const text = await components.encodeText(instructionIds);
      assert.throws(
        () =>
          components.stepModel({
            negative: { context: new Float32Array(3), pooled: text.pooled },
            instruction: text,
          }),
        invalid,
      );
      const step = components.stepModel({ negative: text, instruction: text });
      await assert.rejects(
        step.step({ ...goldenStepInput(), uniform: new Float32Array(3) }),
        invalid,
      );
    }),
});

Deno.test({
  name: "a step asked for with an aborted signal is refused with aborted",
  ...sanitizers,
  fn: () =>
    withComponents("node", async (components) => {
      const text = await components.encodeText(instructionIds);
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        components.stepModel({ negative: text, instruction: text }).step(
          goldenStepInput(),
          controller.signal,
        ),
        (error) => isEditMGTError(error, "aborted"),
      );
    }),
});

Deno.test("fp16 components on a backend without fp16 are refused before any file is read", async () => {
  const folder = await copyModelBasic();
  try {
    await editManifest(folder, (manifest) => {
      manifest.components.find((component) => component.name === "transformer")!.dtype = "fp16";
    });
    const reads: string[] = [];
    const model = await openModelPackage(`file://${folder}/`, {
      source: (request) => {
        reads.push(request.url.pathname);
        return fetchSource(request);
      },
    });
    const backend = spyBackend({ ...node, device: "webgpu" }, { fp16: false });
    await assert.rejects(
      loadModelComponents(model, backend),
      (error) =>
        isEditMGTError(error, "backend_unavailable") && /transformer/.test(error.message) &&
        /shader-f16/.test(error.message),
    );
    assert.deepEqual(reads, [`${folder}/manifest.json`]);
    assert.equal(backend.created, 0);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test({
  name: "a graph without the contract's inputs and outputs is refused with model_output",
  ...sanitizers,
  async fn() {
    const folder = await copyModelBasic();
    try {
      await editManifest(folder, (manifest) => {
        const encoder = manifest.components.find((component) => component.kind === "vq-encoder")!;
        const decoder = manifest.components.find((component) => component.kind === "vq-decoder")!;
        encoder.files = decoder.files; // a decoder graph where the encoder should be
      });
      const backend = spyBackend(node);
      await assert.rejects(
        loadModelComponents(await openLocalModelPackage(folder), backend),
        (error) =>
          isEditMGTError(error, "model_output") &&
          (error.details?.missing as string[]).join() === "input pixels,output tokens",
      );
      assert.equal(backend.released, backend.created);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
});

Deno.test({
  name: "separate context and pooled encoders each read their own token ids",
  ...sanitizers,
  async fn() {
    const folder = await copyModelBasic();
    try {
      await editManifest(folder, (manifest) => {
        const encoder = manifest.components.find((component) => component.kind === "text-encoder")!;
        encoder.role = "context";
        manifest.components.push({ ...encoder, name: "pooled_encoder", role: "pooled" });
      });
      await withComponentsAt(folder, async (components) => {
        await assert.rejects(
          components.encodeText(instructionIds),
          (error) => isEditMGTError(error, "invalid_input"),
        );
        const mixed = await components.encodeText({
          context: instructionIds,
          pooled: new Int32Array(0),
        });
        const pooled = golden("text_encoder", "pooled").data as Float32Array;
        const context = golden("text_encoder", "context").data as Float32Array;
        assert.ok(
          maxAbsDifference(float32(mixed.context, [24]), float32(context.subarray(0, 24), [24])) <
            TOLERANCE,
        );
        assert.ok(
          maxAbsDifference(float32(mixed.pooled, [5]), float32(pooled.subarray(5), [5])) <
            TOLERANCE,
        );
      });
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
});

Deno.test({
  name: "a separate pooled encoder's ids are padded on pooledPadSide (default right), not padSide",
  ...sanitizers,
  async fn() {
    const folder = await copyModelBasic();
    /** The padded [context, pooled] ids the two encoders are fed for the ids [2, 3]. */
    const fedIds = async (pooledPadSide?: "left" | "right") => {
      await editManifest(folder, (manifest) => {
        const encoder = manifest.components.find((component) => component.kind === "text-encoder")!;
        encoder.role = "context";
        if (!manifest.components.some((component) => component.name === "pooled_encoder")) {
          manifest.components.push({ ...encoder, name: "pooled_encoder", role: "pooled" });
        }
        const text = manifest.text as { padSide?: string; pooledPadSide?: string };
        text.padSide = "left"; // the context encoder's side (Gemma) must not leak into CLIP's
        if (pooledPadSide === undefined) delete text.pooledPadSide;
        else text.pooledPadSide = pooledPadSide;
      });
      const fed: number[][] = [];
      const backend: Backend = {
        ...node,
        async createSession(graph) {
          const session = await node.createSession(graph);
          return {
            inputNames: session.inputNames,
            outputNames: session.outputNames,
            run(feeds) {
              if (feeds.input_ids) fed.push(Array.from(feeds.input_ids.data, Number));
              return session.run(feeds);
            },
            release: () => session.release(),
          };
        },
      };
      await using components = await loadModelComponents(
        await openLocalModelPackage(folder),
        backend,
      );
      const ids = new Int32Array([2, 3]);
      await components.encodeText({ context: ids, pooled: ids });
      return fed;
    };
    try {
      assert.deepEqual(await fedIds(), [[0, 0, 2, 3], [2, 3, 0, 0]]);
      assert.deepEqual(await fedIds("right"), [[0, 0, 2, 3], [2, 3, 0, 0]]);
      assert.deepEqual(await fedIds("left"), [[0, 0, 2, 3], [0, 0, 2, 3]]);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
});

Deno.test({
  name: "release frees every session once, and `await using` releases them too",
  ...sanitizers,
  async fn() {
    const backend = spyBackend(node);
    const model = await openLocalModelPackage(modelBasicPath);
    {
      await using components = await loadModelComponents(model, backend);
      assert.equal(backend.created, 4);
      await components.release();
    }
    assert.equal(backend.released, 4);
  },
});
