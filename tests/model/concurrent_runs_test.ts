/**
 * onnxruntime-web refuses or hangs on a second `run` of a session while one is in flight, so the
 * adapter runs the calls to one session one at a time. These tests call real sessions of the
 * tiny-random text encoder concurrently.
 */

import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import type { Backend, DeviceName, ModelSession, NamedTensors } from "../../src/model/backend.ts";
import { ortBackend } from "../../src/model/ort_adapter.ts";
import { createBackend } from "../../src/model/deno.ts";
import { int64Tensor } from "../../src/model/tensors.ts";
import { isEditMGTError } from "../../src/errors/mod.ts";

const sanitizers = { sanitizeOps: false, sanitizeResources: false };
const TEXT_ENCODER = new URL("../fixtures/tiny-random/text_encoder.onnx", import.meta.url);
/** The tiny-random encoder reads 8 ids; 0 is its pad id. */
const PROMPTS: readonly number[][] = [
  [3, 4, 5, 6, 0, 0, 0, 0],
  [7, 8, 0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0, 0, 0],
  [9, 10, 11, 0, 0, 0, 0, 0],
  [3, 0, 0, 0, 0, 0, 0, 0],
  [5, 5, 5, 5, 5, 5, 5, 5],
];

function feedsOf(prompt: readonly number[]): NamedTensors {
  return { input_ids: int64Tensor(Int32Array.from(prompt), [1, prompt.length]) };
}

async function textEncoderOn(backend: Backend): Promise<ModelSession> {
  return await backend.createSession({
    model: await Deno.readFile(TEXT_ENCODER),
    externalData: [],
  });
}

/** A wasm backend whose onnxruntime sessions record how many runs are in flight at once. */
function watchedWasmBackend(): { backend: Backend; mostInFlight: () => number } {
  let inFlight = 0;
  let most = 0;
  ort.env.wasm.numThreads = 1;
  const backend = ortBackend(ort, {
    device: "wasm",
    executionProviders: ["wasm"],
    capabilities: { fp16: true },
    async loadSession(graph, options) {
      const session = await ort.InferenceSession.create(graph.model, options);
      const run = session.run.bind(session);
      session.run = (async (...args: Parameters<typeof run>) => {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          return await run(...args);
        } finally {
          inFlight--;
        }
      }) as typeof session.run;
      return session;
    },
  });
  return { backend, mostInFlight: () => most };
}

for (const device of ["wasm", "webgpu"] satisfies DeviceName[]) {
  Deno.test({
    name: `concurrent runs on one ${device} session give the results of sequential runs`,
    ...sanitizers,
    async fn() {
      const session = await textEncoderOn(await createBackend(device));
      try {
        const sequential: NamedTensors[] = [];
        for (const prompt of PROMPTS) sequential.push(await session.run(feedsOf(prompt)));
        const concurrent = await Promise.all(PROMPTS.map((prompt) => session.run(feedsOf(prompt))));
        assert.deepEqual(concurrent, sequential);
        assert.notDeepEqual(concurrent[0], concurrent[1], "different prompts, different features");
      } finally {
        await session.release();
      }
    },
  });
}

Deno.test({
  name: "an onnxruntime session never has two runs in flight, however many are called at once",
  ...sanitizers,
  async fn() {
    const { backend, mostInFlight } = watchedWasmBackend();
    const session = await textEncoderOn(backend);
    try {
      const outputs = await Promise.all(PROMPTS.map((prompt) => session.run(feedsOf(prompt))));
      assert.equal(outputs.length, PROMPTS.length);
      assert.equal(mostInFlight(), 1);
    } finally {
      await session.release();
    }
  },
});

Deno.test({
  name: "a run that fails does not hold up the runs called after it",
  ...sanitizers,
  async fn() {
    const session = await textEncoderOn(await createBackend("wasm"));
    try {
      const expected = await session.run(feedsOf(PROMPTS[0]));
      const tooShort = feedsOf([1, 2, 3]);
      const results = await Promise.allSettled([
        session.run(tooShort),
        session.run(feedsOf(PROMPTS[0])),
        session.run(tooShort),
        session.run(feedsOf(PROMPTS[0])),
      ]);
      assert.deepEqual(results.map((result) => result.status), [
        "rejected",
        "fulfilled",
        "rejected",
        "fulfilled",
      ]);
      for (const result of results) {
        if (result.status === "fulfilled") assert.deepEqual(result.value, expected);
        else assert.ok(isEditMGTError(result.reason) && result.reason.code === "internal");
      }
    } finally {
      await session.release();
    }
  },
});

Deno.test({
  name: "release lets the runs already called finish, and later runs reject",
  ...sanitizers,
  async fn() {
    const session = await textEncoderOn(await createBackend("wasm"));
    const called = PROMPTS.map((prompt) => session.run(feedsOf(prompt)));
    await session.release();
    const outputs = await Promise.all(called);
    assert.equal(outputs.length, PROMPTS.length);
    await assert.rejects(
      session.run(feedsOf(PROMPTS[0])),
      (error) => isEditMGTError(error) && error.code === "internal",
    );
  },
});
