import assert from "node:assert/strict";
import { localizationMap, minMaxRescale, rowMean } from "../../src/localize/mod.ts";

Deno.test("rowMean averages the selected rows of a [T, n] attention", () => {
  const attention = Float32Array.of(1, 2, 3, 10, 20, 30, 100, 200, 300);
  assert.deepEqual([...rowMean(attention, 3, [0, 2])], [50.5, 101, 151.5]);
  assert.deepEqual([...rowMean(attention, 3, "all")], [37, 74, 111]);
});

Deno.test("rowMean rejects rows outside the text and empty selections", () => {
  assert.throws(() => rowMean(new Float32Array(6), 3, [3]), { code: "invalid_input" });
  assert.throws(() => rowMean(new Float32Array(6), 3, []), { code: "invalid_input" });
  assert.throws(() => rowMean(new Float32Array(7), 3, "all"), { code: "invalid_input" });
});

Deno.test("minMaxRescale is upstream's (s - min) / (max - min + 1e-8)", () => {
  const out = minMaxRescale([2, 4, 6]);
  assert.equal(out[0], 0);
  assert.equal(out[1], Math.fround(2 / (4 + 1e-8)));
  assert.ok(out[2] <= 1 && out[2] > 0.999999);
  assert.deepEqual([...minMaxRescale([5, 5])], [0, 0]);
});

Deno.test("localizationMap peaks where the selected rows attend, on the token grid", () => {
  // 2 text rows over a 4x4 transformer grid: row 0 looks at cell 5, row 1 at cell 10.
  const attention = new Float32Array(32).map((_, i) => (i === 5 || i === 16 + 10 ? 1 : 0));
  const layout = {
    textLength: 2,
    attentionGrid: { height: 4, width: 4 },
    tokenGrid: { height: 8, width: 8 },
  };
  const first = localizationMap(attention, { ...layout, rows: [0] });
  const second = localizationMap(attention, { ...layout, rows: [1] });
  assert.equal(first.tokenMap.length, 64);
  assert.equal(first.attentionMap.indexOf(Math.max(...first.attentionMap)), 5);
  assert.equal(second.attentionMap.indexOf(Math.max(...second.attentionMap)), 10);
  // Cell (1, 1) of the 4x4 grid covers tokens (2..3, 2..3) of the 8x8 grid.
  assert.ok(first.tokenMap[2 * 8 + 2] > first.tokenMap[6 * 8 + 6]);
});

Deno.test("localizationMap rejects attention of the wrong size", () => {
  assert.throws(
    () =>
      localizationMap(new Float32Array(31), {
        textLength: 2,
        attentionGrid: { height: 4, width: 4 },
        tokenGrid: { height: 8, width: 8 },
        rows: "all",
      }),
    { code: "invalid_input" },
  );
});
