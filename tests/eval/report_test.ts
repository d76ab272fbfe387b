import assert from "node:assert/strict";
import { lambdaPlot, markdownReport, recommend, variants } from "../../examples/eval/report.ts";
import type { ConfigResult } from "../../examples/eval/run.ts";
import type { GroupSummary } from "../../examples/eval/metrics.ts";

function summary(success: number, strictSuccess: number, leakage: number, lambda: number) {
  const group: GroupSummary = {
    count: 10,
    success,
    strictSuccess,
    leakage,
    fidelity: 20,
    localizationIou: 0.4,
    lambda,
    ms: 50,
    iou: 0.7,
    noopIou: 0.1,
  };
  return { all: group, in: group, held_out: group, recolor: group };
}

const results: ConfigResult[] = [
  {
    name: "upstream",
    rows: "all",
    lambda: 0,
    mapSource: "attention",
    heldTokens: "scheduled",
    raw: summary(0.6, 0.3, 9, 0),
    composite: summary(0.6, 0.3, 9, 0),
  },
  {
    name: "kw 0.3",
    rows: "keywords",
    lambda: 0.3,
    mapSource: "change",
    heldTokens: "fixed",
    raw: summary(0.55, 0.5, 4, 0.3),
    composite: summary(0.55, 0.52, 1, 0.3),
  },
  {
    name: "kw auto",
    rows: "keywords",
    lambda: "auto",
    mapSource: "change",
    heldTokens: "fixed",
    raw: summary(0.58, 0.5, 5, 0.25),
    composite: summary(0.58, 0.52, 2, 0.25),
  },
];

Deno.test("the recommendation is the highest strict success, ties broken by success then leakage", () => {
  const best = recommend(results);
  assert.equal(best.name, "kw auto+composite");
  assert.equal(variants(results).length, 6);
});

Deno.test("the Markdown report has a row per configuration and composite setting", () => {
  const markdown = markdownReport({
    model: "m 1",
    evalSet: { path: "set", cases: 10, total: 20 },
    settings: { steps: 12 },
    machine: "here",
    command: "deno task eval",
  }, results);
  assert.equal(markdown.split("\n").filter((line) => /^\| (upstream|kw)/.test(line)).length, 6);
  assert.match(markdown, /\*\*kw auto\+composite\*\*/);
  assert.match(markdown, /lambda\.svg/);
});

Deno.test("the plot draws success and leakage lines per row mode and marks lambda auto", () => {
  const svg = lambdaPlot(results);
  assert.match(svg, /^<svg /);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 4);
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 3); // the frame and two auto markers
});
