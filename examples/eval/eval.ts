/**
 * `deno task eval`: the pipeline over one of the tiny model's evaluation sets (`--set dev`, where
 * defaults are chosen, or `--set test`, only reported), for the configurations of the lambda
 * ablation (upstream's defaults; the attention map at lambda 0.3 and "auto"; the change map's
 * lambda sweep and "auto", held tokens fixed, and 0.4 with held tokens scheduled; each with the
 * composite off and on). Writes `report.md`, `report.json` and `lambda.svg` into `--out`
 * (default `eval/`).
 *
 * ```sh
 * deno task eval -- --set dev --out eval/dev     # every case, every configuration
 * deno task eval -- --set test --out eval/test   # the test set, once the defaults are chosen
 * deno task eval -- --every 4          # every 4th case (a quick look)
 * deno task eval -- --model tests/fixtures/tiny-random --set models/editmgt-tiny/eval --out tmp/eval
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { DeviceName } from "../../src/model/backend.ts";
import { createBackend, denoSource } from "../../src/model/deno.ts";
import { EditPipeline } from "../../src/pipeline/pipeline.ts";
import { jsonReport, lambdaPlot, markdownReport, type ReportContext } from "./report.ts";
import {
  type ConfigResult,
  type EvalCase,
  type EvalConfig,
  loadCases,
  runConfig,
  SEED_BASE,
} from "./run.ts";

/**
 * The lambdas of the change-map sweep (0, upstream's default, holds nothing; 1 holds every token,
 * so its raw decode is the VQ round trip of the source, the floor of the raw leakage).
 */
export const SWEEP = [0.2, 0.3, 0.4, 0.5, 0.7, 1];

/** Upstream's map and schedule: the attention map, held tokens inside the schedule. */
const UPSTREAM = { mapSource: "attention", heldTokens: "scheduled" } as const;
/** The change map with held tokens fixed (the pipeline's default localization). */
const CHANGE = { mapSource: "change", heldTokens: "fixed" } as const;

/** Every configuration of the report. */
export const CONFIGS: readonly EvalConfig[] = [
  { name: "upstream (lambda 0)", rows: "all", lambda: 0, ...UPSTREAM },
  { name: "attention, keywords, lambda 0.3", rows: "keywords", lambda: 0.3, ...UPSTREAM },
  { name: "attention, keywords, lambda auto", rows: "keywords", lambda: "auto", ...UPSTREAM },
  ...SWEEP.map((lambda): EvalConfig => ({
    name: `change, lambda ${lambda}`,
    rows: "keywords",
    lambda,
    ...CHANGE,
  })),
  { name: "change, lambda auto", rows: "keywords", lambda: "auto", ...CHANGE },
  {
    name: "change, lambda 0.4, scheduled hold",
    rows: "keywords",
    lambda: 0.4,
    mapSource: "change",
    heldTokens: "scheduled",
  },
];

/**
 * The evaluation sets by name, folders of the model: the development set, where defaults are
 * chosen, and the test set (a fresh seed, tools/data/eval_set.py), which is only reported.
 */
export const SETS: Readonly<Record<string, string>> = { dev: "eval", test: "eval-test" };

const HELP =
  `deno task eval -- [--model <folder>] [--set dev|test|<folder>] [--out <folder>] [--every <k>]
  [--device node|wasm|webgpu] [--threads <n>] [--only <substring of a configuration name>]`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args: args[0] === "--" ? args.slice(1) : args,
    options: {
      model: { type: "string", default: "models/editmgt-tiny" },
      set: { type: "string" },
      out: { type: "string", default: "eval" },
      every: { type: "string", default: "1" },
      device: { type: "string", default: "node" },
      threads: { type: "string", default: "1" },
      only: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const cwd = new URL(`file://${Deno.cwd()}/`);
  const modelFolder = new URL(`${values.model.replace(/\/?$/, "/")}`, cwd);
  const named = SETS[values.set ?? "dev"];
  const setPath = named === undefined ? values.set! : `${values.model}/${named}`;
  const setFolder = new URL(`${setPath.replace(/\/?$/, "/")}`, cwd);
  const index: { cases: EvalCase[]; seed: number } = JSON.parse(
    await Deno.readTextFile(new URL("index.json", setFolder)),
  );
  const every = Math.max(1, Number(values.every));
  const indices = index.cases.map((_, i) => i).filter((i) => i % every === 0);
  const cases = await loadCases(setFolder, index.cases, indices);
  const pipeline = await EditPipeline.load(new URL("manifest.json", modelFolder), {
    device: values.device as DeviceName,
    backendOptions: { threads: Number(values.threads) },
    source: denoSource,
    createBackend,
  });
  const configs = CONFIGS.filter((config) => !values.only || config.name.includes(values.only));
  const results: ConfigResult[] = [];
  const started = performance.now();
  for (const config of configs) {
    const configStarted = performance.now();
    results.push(
      await runConfig(pipeline, cases, config, {
        onCase: (done) => {
          if (done % 20 === 0 || done === cases.length) {
            Deno.stderr.writeSync(
              new TextEncoder().encode(`\r${config.name}: ${done}/${cases.length}`),
            );
          }
        },
      }),
    );
    const last = results.at(-1)!.raw.all;
    console.error(
      ` success ${(last.success * 100).toFixed(1)}%, leakage ${last.leakage.toFixed(2)} ` +
        `(${((performance.now() - configStarted) / 1000).toFixed(0)} s)`,
    );
  }
  await pipeline.dispose();

  const { manifest } = pipeline;
  const context: ReportContext = {
    model: `${manifest.id} ${manifest.version}`,
    evalSet: {
      path: setPath,
      cases: cases.length,
      total: index.cases.length,
    },
    settings: {
      steps: manifest.defaults.steps,
      guidance: manifest.defaults.guidance,
      gamma: manifest.defaults.gamma,
      temperature: manifest.defaults.temperature,
      schedule: manifest.defaults.schedule,
      seed: `${SEED_BASE} + case index`,
      device: pipeline.device,
      threads: Number(values.threads),
    },
    machine: `${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPU threads, ` +
      `Deno ${Deno.version.deno}; ${((performance.now() - started) / 1000).toFixed(0)} s in all`,
    command: ["deno task eval", ...args.filter((arg) => arg !== "--")].join(" "),
  };
  const out = new URL(`${values.out.replace(/\/?$/, "/")}`, cwd);
  await Deno.mkdir(out, { recursive: true });
  const markdown = await formatted(markdownReport(context, results), "md");
  await Deno.writeTextFile(new URL("report.md", out), markdown);
  await Deno.writeTextFile(
    new URL("report.json", out),
    await formatted(jsonReport(context, results), "json"),
  );
  await Deno.writeTextFile(new URL("lambda.svg", out), await formatted(lambdaPlot(results), "svg"));
  console.error(`wrote ${out.pathname}report.md, report.json, lambda.svg`);
  return 0;
}

/**
 * `text` as `deno fmt` writes it with the repository's settings (here rather than as a second
 * command of the task, which would receive the task's arguments).
 */
async function formatted(text: string, extension: "md" | "json" | "svg"): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", "--ext", extension, "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  if (!success) {
    throw new Error(`deno fmt of the ${extension} report failed: ${decoder.decode(stderr)}`);
  }
  return decoder.decode(stdout);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
