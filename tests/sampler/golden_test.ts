import assert from "node:assert/strict";
import { runGolden, RUNS } from "./golden_runs.ts";

const golden = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/sampler/golden_runs.json", import.meta.url)),
);

for (const run of RUNS) {
  Deno.test(`sample() reproduces the committed golden run "${run.name}" exactly`, async () => {
    const expected = golden.runs.find((entry: { name: string }) => entry.name === run.name);
    const actual = await runGolden(run);
    assert.deepEqual(actual.tokens, expected.tokens);
    assert.deepEqual(actual.masked, expected.masked);
    assert.deepEqual(actual.held, expected.held);
    assert.deepEqual(actual.inputs, expected.inputs);
    assert.deepEqual(actual.lambdas, expected.lambdas);
    actual.tokenMap.forEach((value, j) => assert.ok(Math.abs(value - expected.tokenMap[j]) < 1e-6));
  });
}
