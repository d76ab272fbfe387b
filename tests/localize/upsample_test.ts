import assert from "node:assert/strict";
import fc from "fast-check";
import { upsampleBicubic } from "../../src/localize/mod.ts";

Deno.test("bicubic upsampling matches torch F.interpolate(bicubic, align_corners=False)", async () => {
  const golden = JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/localize/bicubic_torch.json", import.meta.url)),
  );
  for (const { from, to, input, output } of golden.cases) {
    const ours = upsampleBicubic(input, from, to);
    assert.equal(ours.length, output.length);
    ours.forEach((value, i) => {
      assert.ok(
        Math.abs(value - output[i]) < 2e-6,
        `${from.height}x${from.width}->${to.height}x${to.width} at ${i}`,
      );
    });
  }
});

Deno.test("a constant map stays constant at any size", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 20 }),
      (h, w, outH, outW) => {
        const up = upsampleBicubic(new Float32Array(h * w).fill(0.375), { height: h, width: w }, {
          height: outH,
          width: outW,
        });
        for (const value of up) assert.ok(Math.abs(value - 0.375) < 1e-6);
      },
    ),
  );
});

Deno.test("bicubic overshoots at a sharp edge, as PyTorch does", () => {
  const step = Float32Array.of(0, 0, 1, 1);
  const up = upsampleBicubic(step, { height: 1, width: 4 }, { height: 1, width: 8 });
  assert.ok(Math.min(...up) < 0 && Math.max(...up) > 1);
});
