/**
 * Runs the pipeline over the evaluation set for a list of configurations and measures every
 * edit with the METRICS.md metrics, with the composite off (the raw decode, as upstream) and on.
 *
 * The composite does not change the sampled tokens, so each configuration is sampled once: the
 * edit runs with `composite: false` and the composited image is made from its output with the
 * pipeline's own `compositeEdit` and keep mask (`1 - result.mask`), exactly what
 * `composite: true` returns.
 *
 * @module
 */

import { decodeImage } from "../../src/image/codec.ts";
import type { BinaryMask, RgbaImage } from "../../src/image/types.ts";
import { upsampleBicubic } from "../../src/localize/upsample.ts";
import type { EditPipeline } from "../../src/pipeline/pipeline.ts";
import { compositeEdit } from "../../src/pipeline/region.ts";
import {
  type CaseResult,
  type EditType,
  evaluateCase,
  type GroupSummary,
  localizationIou,
  summarize,
} from "./metrics.ts";

/** One case of `index.json` (format `editmgt-eval/1`). */
export interface EvalCase {
  /** Case id. */
  id: string;
  /** Edit type. */
  type: EditType;
  /** The instruction. */
  instruction: string;
  /** Held out of training (combination or phrasing). */
  held_out: boolean;
  /** Palette colour judged for success. */
  key_color: string;
  /** Source image path, relative to the index. */
  source: string;
  /** Ground-truth target path. */
  target: string;
  /** Ground-truth edit mask path (white = edited). */
  mask: string;
}

/** A case with its images loaded. */
export interface LoadedCase extends EvalCase {
  /** Position in the index (its seed is derived from it). */
  index: number;
  /** Source pixels. */
  sourceImage: RgbaImage;
  /** Target pixels. */
  targetImage: RgbaImage;
  /** Edit mask pixels. */
  maskPixels: BinaryMask;
}

/** A configuration of the sampler's localization knobs. */
export interface EvalConfig {
  /** Short name. */
  name: string;
  /** Text rows of the map. */
  rows: "all" | "keywords";
  /** Region-hold threshold. */
  lambda: number | "auto";
  /** Map source: "attention" (upstream) or "change". */
  mapSource: "attention" | "change";
  /** How held tokens meet the schedule: "scheduled" (upstream) or "fixed". */
  heldTokens: "scheduled" | "fixed";
}

/** Summaries of one configuration, raw decode and composited. */
export interface ConfigResult extends EvalConfig {
  /** Composite off. */
  raw: Record<string, GroupSummary>;
  /** Composite on. */
  composite: Record<string, GroupSummary>;
}

/** The seed base of the reports: case `index` is edited with seed `1000 + index`. */
export const SEED_BASE = 1000;

/**
 * Seed of case `index`: `base + index`, fixed per case and the same for every configuration
 * (paired comparison).
 */
export function caseSeed(index: number, base: number = SEED_BASE): number {
  return base + index;
}

/** Reads the images of the selected cases. */
export async function loadCases(
  folder: URL,
  cases: readonly EvalCase[],
  indices: readonly number[],
): Promise<LoadedCase[]> {
  const read = async (path: string): Promise<RgbaImage> => {
    const { width, height, data } = await decodeImage(await Deno.readFile(new URL(path, folder)));
    return { width, height, data };
  };
  const loaded: LoadedCase[] = [];
  for (const index of indices) {
    const info = cases[index];
    const mask = await read(info.mask);
    loaded.push({
      ...info,
      index,
      sourceImage: await read(info.source),
      targetImage: await read(info.target),
      maskPixels: {
        width: mask.width,
        height: mask.height,
        data: new Uint8Array(mask.width * mask.height).map((_, p) =>
          mask.data[p * 4] > 127 ? 1 : 0
        ),
      },
    });
  }
  return loaded;
}

/** Options of {@linkcode runConfig}. */
export interface RunOptions {
  /** Sees each finished case. */
  onCase?: (done: number) => void;
  /** Case `index` is edited with seed `seedBase + index` (default {@linkcode SEED_BASE}). */
  seedBase?: number;
}

/** Edits every case with `config` and returns the summaries. */
export async function runConfig(
  pipeline: EditPipeline,
  cases: readonly LoadedCase[],
  config: EvalConfig,
  { onCase, seedBase = SEED_BASE }: RunOptions = {},
): Promise<ConfigResult> {
  const { vq } = pipeline.manifest;
  const raw: CaseResult[] = [];
  const composited: CaseResult[] = [];
  for (const [done, item] of cases.entries()) {
    const result = await pipeline.edit({
      image: item.sourceImage,
      instruction: item.instruction,
      options: {
        seed: caseSeed(item.index, seedBase),
        rows: config.rows,
        lambda: config.lambda,
        mapSource: config.mapSource,
        heldTokens: config.heldTokens,
        composite: false,
      },
    });
    const keep = { ...result.mask, data: result.mask.data.map((edited) => 1 - edited) };
    const { localization } = result;
    const tokenMap = localization.width === vq.grid.width
      ? localization.data
      : upsampleBicubic(localization.data, localization, vq.grid);
    const shared = {
      type: item.type,
      heldOut: item.held_out,
      lambda: result.localization.lambda,
      localizationIou: localizationIou(
        { width: vq.grid.width, height: vq.grid.height, data: tokenMap },
        item.maskPixels,
        result.localization.lambda,
      ),
      ms: result.timings.totalMs,
    };
    const measure = (output: RgbaImage): CaseResult => ({
      ...evaluateCase({
        output,
        source: item.sourceImage,
        target: item.targetImage,
        mask: item.maskPixels,
        type: item.type,
        keyColor: item.key_color,
      }),
      ...shared,
    });
    raw.push(measure(result.image));
    composited.push(measure(compositeEdit(item.sourceImage, result.image, keep)));
    onCase?.(done + 1);
  }
  return { ...config, raw: summarize(raw), composite: summarize(composited) };
}
