import {
  autoLambda,
  localizationMap,
  minMaxRescale,
  rowMean,
  smoothAdaptive,
  upsampleBicubic,
} from "../src/localize/mod.ts";
import { REAL, realisticAttention } from "./fixtures.ts";

const attention = realisticAttention();
const mean = rowMean(attention, REAL.textLength, "all");
const rescaled = minMaxRescale(mean);
const smoothed = smoothAdaptive(rescaled, REAL.attentionGrid);

Deno.bench({
  name: "localizationMap: 256 rows x 1024 cells -> 64x64 (all rows)",
  group: "map",
  baseline: true,
  fn: () => {
    localizationMap(attention, { ...REAL, rows: "all" });
  },
});

Deno.bench({
  name: "localizationMap: 3 keyword rows -> 64x64",
  group: "map",
  fn: () => {
    localizationMap(attention, { ...REAL, rows: [3, 4, 5] });
  },
});

Deno.bench({
  name: "rowMean: 256 rows x 1024 cells",
  group: "parts",
  fn: () => {
    rowMean(attention, REAL.textLength, "all");
  },
});

Deno.bench({
  name: "smoothAdaptive: 32x32",
  group: "parts",
  fn: () => {
    smoothAdaptive(rescaled, REAL.attentionGrid);
  },
});

Deno.bench({
  name: "upsampleBicubic: 32x32 -> 64x64",
  group: "parts",
  fn: () => {
    upsampleBicubic(smoothed, REAL.attentionGrid, REAL.tokenGrid);
  },
});

Deno.bench({
  name: "autoLambda: 32x32",
  group: "parts",
  fn: () => {
    autoLambda(smoothed);
  },
});
