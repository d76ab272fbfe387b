import assert from "node:assert/strict";
import { changeMap, localizationMap, localizeStep } from "../../src/localize/mod.ts";

const grid = { height: 4, width: 4 };

Deno.test("changeMap is 1 - p(source token), near 0 where the model keeps the source", () => {
  const probabilities = new Float32Array(16).map((_, j) => (j === 5 ? 0.1 : 0.99));
  const map = changeMap(probabilities.map(Math.log), grid, 0);
  assert.ok(Math.abs(map[5] - 0.9) < 1e-6);
  assert.ok(map.every((value, j) => j === 5 || Math.abs(value - 0.01) < 1e-6));
});

Deno.test("changeMap's blur spreads a changed token to its neighbours and keeps the mass", () => {
  const refLogprob = new Float32Array(16).map((_, j) => (j === 5 ? -Infinity : 0));
  const map = changeMap(refLogprob, grid, 0.5);
  assert.ok(map[5] > map[6] && map[6] > 0 && map[6] > map[7]);
  assert.ok(map[15] < 1e-3);
  assert.ok(Math.abs(map.reduce((sum, value) => sum + value, 0) - 1) < 1e-5);
});

Deno.test("changeMap rejects a refLogprob that does not cover the grid", () => {
  assert.throws(() => changeMap(new Float32Array(15), grid), { code: "invalid_input" });
});

Deno.test("localizeStep reads the change map on the token grid, the attention map on its own", () => {
  const layout = {
    textLength: 1,
    attentionGrid: { height: 2, width: 2 },
    tokenGrid: grid,
    rows: "all" as const,
  };
  const output = {
    refLogprob: new Float32Array(16).map((_, j) => (j === 0 ? Math.log(0.2) : 0)),
    textAttention: Float32Array.of(0, 0, 0, 1),
  };
  const change = localizeStep("change", output, layout);
  assert.deepEqual(change.grid, grid);
  assert.equal(change.tokenMap, change.map);
  assert.deepEqual(change.map, changeMap(output.refLogprob, grid));
  const attention = localizeStep("attention", output, layout);
  const expected = localizationMap(output.textAttention, layout);
  assert.deepEqual(attention.grid, layout.attentionGrid);
  assert.deepEqual(attention.map, expected.attentionMap);
  assert.deepEqual(attention.tokenMap, expected.tokenMap);
});
