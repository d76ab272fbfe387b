/**
 * Localization IoU of candidate map sources against the true edit mask, per edit type, without
 * running every sampler configuration: each case is sampled once with region hold off (the
 * trajectory of the upstream default), the step graph's outputs are recorded, and every candidate
 * map is built from them and thresholded on the VQ token grid.
 *
 * ```sh
 * deno run -A bench/localize/sources.ts --set models/editmgt-tiny/eval --every 2 --out tmp/sources.json
 * ```
 *
 * Candidates: the attention map (keyword or all rows, step 0 or the last step, as the pipeline
 * builds it), the step graph's `ref_logprob` at step 0 as a change probability `1 - p(source
 * token)`, DiffEdit's conditional-against-unconditional contrast (one extra step-0 run at
 * guidance 0), products of these, and Gaussian smoothing before the threshold.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeImage } from "../../src/image/codec.ts";
import { imageToTensor } from "../../src/image/tensor.ts";
import type { RgbaImage } from "../../src/image/types.ts";
import {
  autoLambda,
  gaussianFilter,
  keywordRows,
  localizationMap,
  minMaxRescale,
} from "../../src/localize/mod.ts";
import { loadModelComponents } from "../../src/model/components.ts";
import { createBackend, openLocalModelPackage } from "../../src/model/deno.ts";
import { loadModelTokenizers, PromptEncoder } from "../../src/pipeline/text.ts";
import { sample } from "../../src/sampler/sample.ts";
import type { StepInput, StepModel, StepOutput } from "../../src/sampler/model.ts";
import { tokenMask } from "../../examples/eval/metrics.ts";
import type { EvalCase } from "../../examples/eval/run.ts";

/** Thresholds at which every candidate is scored. */
const THRESHOLDS = Array.from({ length: 19 }, (_, i) => Math.round((i + 1) * 5) / 100);

/** What one case's sampling recorded. */
interface Recorded {
  /** `ref_logprob` at step 0, conditional (guidance of the defaults). */
  refLogprob: Float32Array;
  /** `ref_logprob` at step 0 with guidance 0 (the unconditional prediction). */
  uncondRefLogprob: Float32Array;
  /** `text_attention` of every step. */
  attention: Float32Array[];
}

/** IoU of `map >= threshold` with `truth`; 1 when both are empty. */
function iouAt(map: ArrayLike<number>, truth: Uint8Array, threshold: number): number {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < truth.length; i++) {
    const selected = map[i] >= threshold;
    if (selected && truth[i]) intersection++;
    if (selected || truth[i]) union++;
  }
  return union === 0 ? 1 : intersection / union;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string", default: "models/editmgt-tiny" },
      set: { type: "string", default: "models/editmgt-tiny/eval" },
      every: { type: "string", default: "1" },
      out: { type: "string" },
    },
  });
  const model = await openLocalModelPackage(`${values.model}/manifest.json`);
  const { manifest } = model;
  const components = await loadModelComponents(
    model,
    await createBackend("node", { threads: 1 }),
  );
  const prompts = new PromptEncoder(await loadModelTokenizers(model), components);
  const setFolder = new URL(`${values.set.replace(/\/?$/, "/")}`, `file://${Deno.cwd()}/`);
  const index: { cases: EvalCase[] } = JSON.parse(
    await Deno.readTextFile(new URL("index.json", setFolder)),
  );
  const every = Math.max(1, Number(values.every));
  const { vq, transformer, text, defaults } = manifest;
  const tokenGrid = vq.grid;
  const read = async (path: string): Promise<RgbaImage> =>
    await decodeImage(await Deno.readFile(new URL(path, setFolder)));

  const scores = new Map<string, Map<string, number[][]>>();
  const record = (source: string, type: string, map: ArrayLike<number>, truth: Uint8Array) => {
    const bySource = scores.get(source) ?? new Map<string, number[][]>();
    scores.set(source, bySource);
    const rows = bySource.get(type) ?? [];
    bySource.set(type, rows);
    const otsu = autoLambda(map, { minSeparability: 0, maxForeground: 1 });
    rows.push([...THRESHOLDS.map((t) => iouAt(map, truth, t)), iouAt(map, truth, otsu)]);
  };

  for (let caseIndex = 0; caseIndex < index.cases.length; caseIndex += every) {
    const item = index.cases[caseIndex];
    const maskImage = await read(item.mask);
    const truth = tokenMask({
      width: maskImage.width,
      height: maskImage.height,
      data: new Uint8Array(maskImage.width * maskImage.height).map((_, p) =>
        maskImage.data[p * 4] > 127 ? 1 : 0
      ),
    }).data;
    const encoded = await prompts.encode(item.instruction, defaults.negativePrompt);
    const refTokens = await components.vqEncode(imageToTensor(await read(item.source)));
    const inner = components.stepModel({
      negative: encoded.negative,
      instruction: encoded.instruction.features,
    });
    const recorded: Recorded = {
      refLogprob: new Float32Array(0),
      uncondRefLogprob: new Float32Array(0),
      attention: [],
    };
    const recording: StepModel = {
      async step(input: StepInput, signal?: AbortSignal): Promise<StepOutput> {
        if (recorded.attention.length === 0) {
          const uncond = await inner.step({ ...input, guidanceScale: 0 }, signal);
          recorded.uncondRefLogprob = uncond.refLogprob.slice();
        }
        const output = await inner.step(input, signal);
        if (recorded.attention.length === 0) recorded.refLogprob = output.refLogprob.slice();
        recorded.attention.push(output.textAttention.slice());
        return output;
      },
    };
    await sample(recording, {
      refTokens,
      tokenGrid,
      codebookSize: vq.codebookSize,
      maskTokenId: vq.maskTokenId,
      timestep: transformer.timestep,
      steps: defaults.steps,
      guidance: defaults.guidance,
      gamma: defaults.gamma,
      lambda: 0,
      temperature: defaults.temperature,
      schedule: defaults.schedule,
      seed: 1000 + caseIndex,
    });

    const attentionMap = (rows: "keywords" | "all", step: number) =>
      localizationMap(recorded.attention[step], {
        textLength: text.length,
        attentionGrid: transformer.grid,
        tokenGrid,
        rows: keywordRows(encoded.instruction.tokens, { rows }),
      }).tokenMap;
    const last = recorded.attention.length - 1;
    const change = recorded.refLogprob.map((logprob) => 1 - Math.exp(logprob));
    const contrast = recorded.refLogprob.map((logprob, j) =>
      Math.max(0, 1 - Math.exp(logprob - recorded.uncondRefLogprob[j]))
    );
    const attentionKeywords = minMaxRescale(attentionMap("keywords", 0));
    const candidates: Record<string, ArrayLike<number>> = {
      "attention keywords, step 0": attentionKeywords,
      "attention keywords, last step": attentionMap("keywords", last),
      "attention all rows, step 0": attentionMap("all", 0),
      "attention all rows, last step": attentionMap("all", last),
      "change 1-p(ref), step 0": change,
      "change, blur 0.5": gaussianFilter(change, tokenGrid, 0.5),
      "change, blur 0.75": gaussianFilter(change, tokenGrid, 0.75),
      "change, blur 1": gaussianFilter(change, tokenGrid, 1),
      "-log p(ref) rescaled": minMaxRescale(recorded.refLogprob.map((logprob) => -logprob)),
      "contrast 1-p_c/p_u (DiffEdit)": contrast,
      "contrast, blur 0.75": gaussianFilter(contrast, tokenGrid, 0.75),
      "change x attention keywords": minMaxRescale(
        change.map((value, j) => value * attentionKeywords[j]),
      ),
      "mean(change, attention keywords)": change.map((value, j) =>
        (value + attentionKeywords[j]) / 2
      ),
    };
    for (const [name, map] of Object.entries(candidates)) {
      record(name, item.type, map, truth);
      record(name, "all", map, truth);
    }
    Deno.stderr.writeSync(new TextEncoder().encode(`\r${caseIndex + 1}/${index.cases.length}`));
  }
  await components.release();

  const mean = (rows: number[][], k: number) =>
    rows.reduce((sum, row) => sum + row[k], 0) / rows.length;
  const types = ["all", "recolor", "remove", "add", "replace", "background"];
  const summary: Record<string, unknown> = {};
  console.log(
    `\n| source | best threshold | ${types.map((type) => `IoU ${type}`).join(" | ")} | ` +
      `Otsu IoU all |`,
  );
  console.log(`|---|---|${types.map(() => "---").join("|")}|---|`);
  for (const [source, bySource] of scores) {
    const all = bySource.get("all")!;
    let best = 0;
    for (let k = 1; k < THRESHOLDS.length; k++) if (mean(all, k) > mean(all, best)) best = k;
    const perType = types.map((type) => mean(bySource.get(type)!, best));
    const otsu = mean(all, THRESHOLDS.length);
    summary[source] = {
      threshold: THRESHOLDS[best],
      iou: Object.fromEntries(types.map((type, i) => [type, perType[i]])),
      otsu,
      curve: Object.fromEntries(THRESHOLDS.map((t, k) => [t, mean(all, k)])),
    };
    console.log(
      `| ${source} | ${THRESHOLDS[best]} | ${perType.map((v) => v.toFixed(3)).join(" | ")} | ` +
        `${otsu.toFixed(3)} |`,
    );
  }
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(summary, null, 1) + "\n");
}

if (import.meta.main) await main(Deno.args);
