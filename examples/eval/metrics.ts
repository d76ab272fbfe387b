/**
 * The evaluation metrics of the shapes-editing domain, as tools/data/METRICS.md defines them (the
 * same definitions as tools/data/metrics.py; tests/eval/metrics_test.ts checks this file against
 * numbers from it). Images are 8-bit RGBA; masks are one byte per pixel, 1 inside.
 *
 * @module
 */

import type { BinaryMask, RgbaImage } from "../../src/image/types.ts";

/** Palette of the domain (tools/data/domain.py `COLORS`), in its order. */
export const PALETTE: Readonly<Record<string, readonly [number, number, number]>> = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [240, 210, 40],
  purple: [140, 60, 180],
  orange: [245, 140, 30],
  white: [245, 245, 245],
  black: [25, 25, 25],
};

const PALETTE_NAMES = Object.keys(PALETTE);
const PALETTE_RGB = Object.values(PALETTE);

/** A pixel takes the nearest palette colour's class only within this RGB distance, else none. */
export const COLOR_RADIUS = 45;
/** Pixels per VQ token side: masks are dilated by one token. */
export const TOKEN = 4;
/** Least key-colour IoU with the ground truth for a success. */
export const IOU_THRESHOLD = 0.75;
/** Strict success also needs leakage at most this (mean absolute difference, 0-255). */
export const LEAKAGE_LIMIT = 12;

/** The edit types of the evaluation set. */
export type EditType = "recolor" | "remove" | "add" | "replace" | "background";

/** Metrics of one edited image. */
export interface CaseMetrics {
  /** Key-colour IoU >= {@linkcode IOU_THRESHOLD} and better than leaving the image unchanged. */
  success: boolean;
  /** Success with leakage <= {@linkcode LEAKAGE_LIMIT}. */
  strictSuccess: boolean;
  /** Key-colour IoU of the output with the target in the judged region. */
  iou: number;
  /** The same IoU for the unchanged source. */
  noopIou: number;
  /** Mean absolute difference to the target inside the edit mask. */
  fidelity: number;
  /** Mean absolute difference to the source outside the edit mask dilated by one token. */
  leakage: number;
}

/** Palette class per pixel (index into {@linkcode PALETTE}), -1 where no colour is near. */
export function classify(image: RgbaImage): Int8Array {
  const classes = new Int8Array(image.width * image.height);
  for (let p = 0; p < classes.length; p++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let c = 0; c < PALETTE_RGB.length; c++) {
      const [r, g, b] = PALETTE_RGB[c];
      const distance = Math.hypot(
        image.data[p * 4] - r,
        image.data[p * 4 + 1] - g,
        image.data[p * 4 + 2] - b,
      );
      if (distance < bestDistance) {
        bestDistance = distance;
        best = c;
      }
    }
    classes[p] = bestDistance <= COLOR_RADIUS ? best : -1;
  }
  return classes;
}

/** Binary dilation by a `(2 radius + 1)` square. */
export function dilate(mask: BinaryMask, radius: number = TOKEN): BinaryMask {
  const { width, height } = mask;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask.data[y * width + x]) continue;
      for (let dy = Math.max(0, y - radius); dy <= Math.min(height - 1, y + radius); dy++) {
        data.fill(
          1,
          dy * width + Math.max(0, x - radius),
          dy * width + Math.min(width, x + radius + 1),
        );
      }
    }
  }
  return { width, height, data };
}

/** Token-grid mask: a token is in when any of its `token x token` pixels is. */
export function tokenMask(mask: BinaryMask, token: number = TOKEN): BinaryMask {
  const width = mask.width / token;
  const height = mask.height / token;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]) {
        data[Math.floor(y / token) * width + Math.floor(x / token)] = 1;
      }
    }
  }
  return { width, height, data };
}

/** IoU of two flag arrays; 1 when both are empty. */
function iou(a: ArrayLike<number | boolean>, b: ArrayLike<number | boolean>): number {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) intersection++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 1 : intersection / union;
}

/** Mean over `where` pixels of the mean absolute RGB difference of two images; 0 when empty. */
function meanDifference(a: RgbaImage, b: RgbaImage, where: (p: number) => boolean): number {
  let sum = 0;
  let count = 0;
  for (let p = 0; p < a.width * a.height; p++) {
    if (!where(p)) continue;
    let difference = 0;
    for (let c = 0; c < 3; c++) difference += Math.abs(a.data[p * 4 + c] - b.data[p * 4 + c]);
    sum += difference / 3;
    count++;
  }
  return count === 0 ? 0 : sum / count;
}

/** The inputs of {@linkcode evaluateCase}. */
export interface CaseImages {
  /** The edit's output, at the case's size. */
  output: RgbaImage;
  /** The input image. */
  source: RgbaImage;
  /** The ground truth. */
  target: RgbaImage;
  /** Ground-truth edit mask (pixels). */
  mask: BinaryMask;
  /** The edit type. */
  type: EditType;
  /** Palette name of the colour whose shape is judged. */
  keyColor: string;
}

/** The metrics of one edited image against its ground truth (METRICS.md). */
export function evaluateCase(images: CaseImages): CaseMetrics {
  const { output, source, target, mask, type } = images;
  const key = PALETTE_NAMES.indexOf(images.keyColor);
  if (key < 0) throw new Error(`unknown key colour ${images.keyColor}`);
  const region = type === "background"
    ? { ...mask, data: new Uint8Array(mask.data.length).fill(1) }
    : dilate(mask);
  const keyed = (image: RgbaImage) => {
    const classes = classify(image);
    return classes.map((value, p) => (value === key && region.data[p] ? 1 : 0));
  };
  const expected = keyed(target);
  const caseIou = iou(keyed(output), expected);
  const noopIou = iou(keyed(source), expected);
  const grown = dilate(mask);
  const leakage = meanDifference(output, source, (p) => grown.data[p] === 0);
  const fidelity = meanDifference(output, target, (p) => mask.data[p] === 1);
  const success = caseIou >= IOU_THRESHOLD && caseIou > noopIou;
  return {
    success,
    strictSuccess: success && leakage <= LEAKAGE_LIMIT,
    iou: caseIou,
    noopIou,
    fidelity,
    leakage,
  };
}

/**
 * IoU between a localization map on the VQ token grid thresholded at `threshold` (`>=`) and the
 * ground-truth token mask of the pixel edit mask.
 */
export function localizationIou(
  map: { width: number; height: number; data: ArrayLike<number> },
  mask: BinaryMask,
  threshold: number,
): number {
  const truth = tokenMask(mask);
  if (map.width !== truth.width || map.height !== truth.height) {
    throw new Error(`map ${map.width}x${map.height} is not on the token grid`);
  }
  return iou(Array.from(map.data, (value) => value >= threshold), truth.data);
}

/** A case's metrics with what it is grouped by. */
export interface CaseResult extends CaseMetrics {
  /** Edit type. */
  type: EditType;
  /** Held out of training. */
  heldOut: boolean;
  /** Localization IoU at the lambda used. */
  localizationIou: number;
  /** The lambda used (resolved when "auto"). */
  lambda: number;
  /** Edit time in milliseconds. */
  ms: number;
}

/** Means of every numeric field (booleans as rates) over a group, with its size. */
export type GroupSummary = { count: number } & Record<string, number>;

/**
 * Means per `type/in`, `type/held_out`, `type`, `in`, `held_out` and `all` (as
 * `metrics.summarize` groups them).
 */
export function summarize(results: readonly CaseResult[]): Record<string, GroupSummary> {
  const groups = new Map<string, CaseResult[]>();
  for (const result of results) {
    const split = result.heldOut ? "held_out" : "in";
    for (const key of [`${result.type}/${split}`, result.type, split, "all"]) {
      groups.set(key, [...(groups.get(key) ?? []), result]);
    }
  }
  const summary: Record<string, GroupSummary> = {};
  for (const [key, rows] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const group: GroupSummary = { count: rows.length };
    for (const [field, value] of Object.entries(rows[0])) {
      if (field === "heldOut" || (typeof value !== "number" && typeof value !== "boolean")) {
        continue;
      }
      group[field] = rows.reduce((sum, row) => sum + Number(row[field as keyof CaseResult]), 0) /
        rows.length;
    }
    summary[key] = group;
  }
  return summary;
}
