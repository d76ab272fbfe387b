/**
 * How much of the gap between region hold's default and hold off is the sampling seed: the
 * product pipeline over one evaluation set, as `deno task eval` runs it, for hold off (lambda 0),
 * the default (change map, lambda 0.4, held tokens fixed) and the change map's `lambda: "auto"`,
 * once per seed base (case `i` is edited with seed `base + i`; the reports use base 1000). It
 * prints strict success with the composite per seed and configuration, and the default's
 * difference from hold off, paired by seed.
 *
 * ```sh
 * deno run -A bench/localize/seed_spread.ts --set test --seeds 1000,2000,3000 --out eval/seeds/test.json
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createBackend, denoSource } from "../../src/model/deno.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";
import { CONFIGS, SETS } from "../../examples/eval/eval.ts";
import { type EvalCase, loadCases, runConfig } from "../../examples/eval/run.ts";

/** The configurations compared, by their names in the evaluation's table. */
const COMPARED = {
  "hold off": "upstream (lambda 0)",
  "default (0.4)": "change, lambda 0.4",
  "auto": "change, lambda auto",
} as const;

/** Strict success (composite on) and leakage of one configuration at one seed base. */
interface Row {
  seedBase: number;
  config: keyof typeof COMPARED;
  strict: number;
  strictInDistribution: number;
  strictHeldOut: number;
  leakage: number;
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "models/editmgt-tiny" },
    set: { type: "string", default: "test" },
    seeds: { type: "string", default: "1000,2000,3000" },
    every: { type: "string", default: "1" },
    out: { type: "string" },
  },
});

const setFolder = new URL(
  `${values.model}/${SETS[values.set] ?? values.set}/`,
  `file://${Deno.cwd()}/`,
);
const index: { cases: EvalCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("index.json", setFolder)),
);
const every = Math.max(1, Number(values.every));
const cases = await loadCases(
  setFolder,
  index.cases,
  index.cases.map((_, i) => i).filter((i) => i % every === 0),
);
const pipeline = await EditPipeline.load(`${values.model}/manifest.json`, {
  device: "node",
  backendOptions: { threads: 1 },
  source: denoSource,
  createBackend,
});
const rows: Row[] = [];
for (const seedBase of values.seeds.split(",").map(Number)) {
  for (const [config, name] of Object.entries(COMPARED) as [keyof typeof COMPARED, string][]) {
    const started = performance.now();
    const evalConfig = CONFIGS.find((candidate) => candidate.name === name);
    if (!evalConfig) throw new Error(`no configuration named "${name}"`);
    const { composite } = await runConfig(pipeline, cases, evalConfig, { seedBase });
    rows.push({
      seedBase,
      config,
      strict: composite.all.strictSuccess,
      strictInDistribution: composite.in.strictSuccess,
      strictHeldOut: composite.held_out.strictSuccess,
      leakage: composite.all.leakage,
    });
    console.error(
      `seed base ${seedBase}, ${config}: strict ${
        (composite.all.strictSuccess * 100).toFixed(1)
      }% ` +
        `(${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
}
await pipeline.dispose();

const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const strictOf = (seedBase: number, config: keyof typeof COMPARED) =>
  rows.find((row) => row.seedBase === seedBase && row.config === config)!.strict;
const seedBases = [...new Set(rows.map((row) => row.seedBase))];
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const differences = seedBases.map((base) =>
  strictOf(base, "default (0.4)") - strictOf(base, "hold off")
);
const lines = [
  `${values.set} set, ${cases.length} cases, strict success with the composite:`,
  "",
  "| seed base | hold off | default (0.4) | auto | default - hold off |",
  "|---|---|---|---|---|",
  ...seedBases.map((base, i) =>
    `| ${base} | ${percent(strictOf(base, "hold off"))} | ${
      percent(strictOf(base, "default (0.4)"))
    } | ${percent(strictOf(base, "auto"))} | ${(differences[i] * 100).toFixed(1)} |`
  ),
  `| mean | ${percent(mean(seedBases.map((base) => strictOf(base, "hold off"))))} | ${
    percent(mean(seedBases.map((base) => strictOf(base, "default (0.4)"))))
  } | ${percent(mean(seedBases.map((base) => strictOf(base, "auto"))))} | ${
    (mean(differences) * 100).toFixed(1)
  } |`,
];
console.log(lines.join("\n"));
if (values.out) {
  await Deno.mkdir(new URL(".", `file://${Deno.cwd()}/${values.out}`), { recursive: true });
  await Deno.writeTextFile(
    values.out,
    JSON.stringify({ set: values.set, cases: cases.length, rows }, null, 2) + "\n",
  );
}
