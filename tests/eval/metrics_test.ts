import assert from "node:assert/strict";
import {
  dilate,
  type EditType,
  evaluateCase,
  localizationIou,
  summarize,
  tokenMask,
} from "../../examples/eval/metrics.ts";
import { decodeImage } from "../../src/image/codec.ts";
import type { BinaryMask, RgbaImage } from "../../src/image/types.ts";

const GOLDEN = new URL("../fixtures/eval-metrics/", import.meta.url);
const EVAL_SET = new URL("../../models/editmgt-tiny/eval/", import.meta.url);

interface GoldenRecord {
  case: string;
  output: string;
  metrics: Record<string, number | boolean>;
  localization1024: number[];
  localizationIou: Record<string, number>;
}

const golden: { records: GoldenRecord[] } = JSON.parse(
  await Deno.readTextFile(new URL("golden.json", GOLDEN)),
);
const index: {
  cases: {
    id: string;
    type: EditType;
    key_color: string;
    source: string;
    target: string;
    mask: string;
  }[];
} = JSON.parse(await Deno.readTextFile(new URL("index.json", EVAL_SET)));

async function image(url: URL): Promise<RgbaImage> {
  const { width, height, data } = await decodeImage(await Deno.readFile(url));
  return { width, height, data };
}

function maskOf(picture: RgbaImage): BinaryMask {
  const data = new Uint8Array(picture.width * picture.height).map((_, p) =>
    picture.data[p * 4] > 127 ? 1 : 0
  );
  return { width: picture.width, height: picture.height, data };
}

Deno.test("the TS metrics equal tools/data/metrics.py on the golden outputs", async () => {
  assert.equal(golden.records.length, 40);
  for (const record of golden.records) {
    const info = index.cases.find((candidate) => candidate.id === record.case)!;
    const mask = maskOf(await image(new URL(info.mask, EVAL_SET)));
    const metrics = evaluateCase({
      output: await image(new URL(record.output, GOLDEN)),
      source: await image(new URL(info.source, EVAL_SET)),
      target: await image(new URL(info.target, EVAL_SET)),
      mask,
      type: info.type,
      keyColor: info.key_color,
    });
    const label = record.output;
    assert.equal(metrics.success, record.metrics.success, `${label} success`);
    assert.equal(metrics.strictSuccess, record.metrics.strict_success, `${label} strict`);
    for (
      const [ours, theirs] of [["iou", "iou"], ["noopIou", "noop_iou"], ["fidelity", "fidelity"], [
        "leakage",
        "leakage",
      ]] as const
    ) {
      const expected = record.metrics[theirs] as number;
      assert.ok(
        Math.abs(metrics[ours] - expected) < 1e-4,
        `${label} ${ours} ${metrics[ours]} vs ${expected}`,
      );
    }
    const map = {
      width: 16,
      height: 16,
      data: record.localization1024.map((level) => level / 1024),
    };
    for (const [threshold, expected] of Object.entries(record.localizationIou)) {
      assert.ok(Math.abs(localizationIou(map, mask, Number(threshold)) - expected) < 1e-12);
    }
  }
  const kinds = new Set(golden.records.map((record) => record.metrics.success));
  assert.deepEqual(kinds, new Set([true, false]), "the golden exercises both outcomes");
});

Deno.test("dilation grows by a square of one token; token masks mark any covered token", () => {
  const mask = { width: 12, height: 8, data: new Uint8Array(96) };
  mask.data[3 * 12 + 5] = 1;
  const grown = dilate(mask, 2);
  assert.equal(grown.data.reduce((sum, flag) => sum + flag, 0), 25);
  assert.equal(grown.data[1 * 12 + 3], 1);
  assert.equal(grown.data[0 * 12 + 5], 0);
  assert.deepEqual(Array.from(tokenMask(mask, 4).data), [0, 1, 0, 0, 0, 0]);
});

Deno.test("summaries average per type, split and overall; booleans become rates", () => {
  const row = (type: EditType, heldOut: boolean, success: boolean, leakage: number) => ({
    type,
    heldOut,
    success,
    strictSuccess: success,
    iou: 1,
    noopIou: 0,
    fidelity: 0,
    leakage,
    localizationIou: 0.5,
    lambda: 0.2,
    ms: 10,
  });
  const summary = summarize([
    row("recolor", false, true, 2),
    row("recolor", true, false, 4),
    row("remove", false, true, 6),
  ]);
  assert.equal(summary.all.count, 3);
  assert.ok(Math.abs(summary.all.success - 2 / 3) < 1e-12);
  assert.equal(summary.recolor.leakage, 3);
  assert.equal(summary["recolor/held_out"].success, 0);
  assert.equal(summary.in.count, 2);
  assert.equal(summary.held_out.count, 1);
});
