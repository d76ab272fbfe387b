import assert from "node:assert/strict";
import { type EvalCase, loadCases, runConfig } from "../../examples/eval/run.ts";
import { loadTinyRandom, ORT_SANITIZERS } from "../pipeline/fixture.ts";

const EVAL_SET = new URL("../../models/editmgt-tiny/eval/", import.meta.url);

Deno.test({
  name: "a configuration runs over eval cases; the composite never leaks more than the raw decode",
  ...ORT_SANITIZERS,
  async fn() {
    const index: { cases: EvalCase[] } = JSON.parse(
      await Deno.readTextFile(new URL("index.json", EVAL_SET)),
    );
    const cases = await loadCases(EVAL_SET, index.cases, [0, 64, 128]);
    assert.deepEqual(cases.map((item) => item.index), [0, 64, 128]);
    assert.ok(cases.every((item) => item.maskPixels.data.includes(1)));
    const { pipeline } = await loadTinyRandom("node");
    try {
      const result = await runConfig(pipeline, cases, {
        name: "t",
        rows: "keywords",
        lambda: 0.4,
        mapSource: "change",
        heldTokens: "fixed",
      });
      assert.equal(result.raw.all.count, 3);
      assert.ok(Math.abs(result.raw.all.lambda - 0.4) < 1e-12);
      assert.ok(result.composite.all.leakage <= result.raw.all.leakage);
      assert.equal(result.composite.all.localizationIou, result.raw.all.localizationIou);
      assert.ok(["recolor", "remove", "add"].every((type) => result.raw[type].count === 1));
    } finally {
      await pipeline.dispose();
    }
  },
});
