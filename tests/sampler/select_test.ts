import assert from "node:assert/strict";
import fc from "fast-check";
import { selectKth } from "../../src/sampler/select.ts";

Deno.test("selectKth gives sort(values)[k], ties and infinities included", () => {
  const value = fc.oneof(
    fc.double({ noNaN: true }),
    fc.constantFrom(-1, 0, 1, Infinity, -Infinity),
  );
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 300 }), fc.nat(), (values, index) => {
      const k = index % values.length;
      const expected = Float64Array.from(values).sort()[k];
      const selected = selectKth(Float64Array.from(values), k);
      // Compared with ===: -0 and 0 are the same cut (the sort may order them either way).
      assert.ok(selected === expected, `k=${k}: ${selected} !== ${expected}`);
    }),
    { numRuns: 500 },
  );
});

Deno.test("selectKth handles sorted, reversed and constant inputs", () => {
  const sorted = Float64Array.from({ length: 1000 }, (_, i) => i);
  assert.equal(selectKth(sorted.slice(), 321), 321);
  assert.equal(selectKth(sorted.slice().reverse(), 999), 999);
  assert.equal(selectKth(new Float64Array(500).fill(2), 250), 2);
});
