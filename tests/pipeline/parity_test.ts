/**
 * Parity of the whole TS pipeline (tokenizer, ONNX graphs on onnxruntime-node, src/sampler) with the
 * torch reference sampler (tools/editmgt/sampling.py) on the tiny-random model. The golden,
 * tests/fixtures/sampler-parity/cases.json, is written by tools/parity/sampler_parity.py: torch edits
 * with the same uniforms and Gumbel uniforms injected. Tokens must be equal at every step, except
 * where the golden marks a decision as fragile (a near tie that last-bit float differences may
 * flip); after such a flip the runs may legitimately diverge and are not compared further.
 */

import assert from "node:assert/strict";
import type { NamedTensors } from "../../src/model/backend.ts";
import { STREAM, Xoshiro128 } from "../../src/sampler/rng.ts";
import type { EditOptions } from "../../src/schema/options.ts";
import { ids, loadTinyRandom, ORT_SANITIZERS } from "./fixture.ts";

const GOLDEN = new URL("../fixtures/sampler-parity/", import.meta.url);

interface ParityStep {
  tokens: number[];
  uniform: string;
  gumbelUniform: string;
  fragile: number[];
}

interface ParityCase {
  name: string;
  instruction: string;
  negativePrompt: string;
  image: string;
  options: EditOptions & { seed: number; steps: number };
  mask?: number[];
  inputIds: { negative: number[]; instruction: number[] };
  rows: "all" | number[];
  refTokens: number[];
  refNearTie: number[];
  steps: ParityStep[];
  tokens: number[];
}

const golden: {
  package: { id: string; transformerSha256: string[] };
  cases: ParityCase[];
} = JSON.parse(await Deno.readTextFile(new URL("cases.json", GOLDEN)));

const { pipeline, backend } = await loadTinyRandom("node");

function float32(base64: string): Float32Array {
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

function differences(actual: readonly number[], expected: readonly number[]): number[] {
  return expected.flatMap((value, j) => (actual[j] === value ? [] : [j]));
}

Deno.test("the parity golden was made from the committed tiny-random package", () => {
  const transformer = pipeline.manifest.components.find((c) => c.kind === "transformer")!;
  assert.equal(golden.package.id, pipeline.manifest.id);
  assert.deepEqual(
    golden.package.transformerSha256,
    transformer.files.map((file) => file.sha256),
    "tiny-random changed: rerun /usr/bin/python3 -m tools.parity.sampler_parity",
  );
});

for (const parity of golden.cases) {
  Deno.test({
    name: `parity with the torch sampler: ${parity.name}`,
    ...ORT_SANITIZERS,
    async fn() {
      const n = parity.refTokens.length;
      const gumbelStream = Xoshiro128.fromSeed(parity.options.seed, STREAM.gumbel);
      for (const step of parity.steps) {
        const ours = gumbelStream.fillUniform(new Float32Array(n));
        assert.deepEqual(ours, float32(step.gumbelUniform), "Gumbel uniforms differ");
      }

      const before = { step: backend.runs.step.length };
      const image = await Deno.readFile(new URL(parity.image, GOLDEN));
      const grid = pipeline.manifest.vq.grid;
      await pipeline.edit({
        image,
        instruction: parity.instruction,
        mask: parity.mask &&
          { width: grid.width, height: grid.height, data: Uint8Array.from(parity.mask) },
        // The torch reference is upstream's sampler: the attention map, held tokens scheduled.
        options: {
          mapSource: "attention",
          heldTokens: "scheduled",
          ...parity.options,
          negativePrompt: parity.negativePrompt,
        },
      });

      // Prompt features are cached per text: an earlier case may have encoded these prompts.
      const encoded = backend.runs.text.map((feeds) => ids(feeds, "input_ids").join());
      assert.ok(encoded.includes(parity.inputIds.instruction.join()), "instruction ids");
      assert.ok(encoded.includes(parity.inputIds.negative.join()), "negative prompt ids");

      const stepRuns: NamedTensors[] = backend.runs.step.slice(before.step);
      assert.equal(stepRuns.length, parity.steps.length);
      const refTokens = ids(stepRuns[0], "ref_tokens");
      const refDiffs = differences(refTokens, parity.refTokens);
      assert.ok(
        refDiffs.every((j) => parity.refNearTie.includes(j)),
        `source tokens differ away from near ties at ${refDiffs}`,
      );
      assert.equal(refDiffs.length, 0, "source tokens differ: the runs are not comparable");

      let diverged = false;
      for (let i = 0; i < parity.steps.length && !diverged; i++) {
        const expected = parity.steps[i];
        assert.deepEqual(
          stepRuns[i].uniform.data,
          float32(expected.uniform),
          `step ${i}: categorical uniforms differ`,
        );
        const diffs = differences(ids(stepRuns[i], "tokens"), expected.tokens);
        if (diffs.length === 0) continue;
        const fragile = i > 0 ? parity.steps[i - 1].fragile : [];
        assert.ok(
          diffs.every((j) => fragile.includes(j)),
          `step ${i}: tokens differ at ${diffs}, fragile were ${fragile}`,
        );
        diverged = true;
      }
      if (!diverged) {
        const final = ids(backend.runs["vq-decode"].at(-1)!, "tokens");
        const diffs = differences(final, parity.tokens);
        const fragile = parity.steps.at(-1)!.fragile;
        assert.ok(
          diffs.every((j) => fragile.includes(j)),
          `final tokens differ at ${diffs}, fragile were ${fragile}`,
        );
      }
    },
  });
}
