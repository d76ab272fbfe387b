/**
 * The evaluation report: a Markdown table per configuration, the recommended defaults, and an
 * SVG plot of edit success and leakage against lambda (the paper's lambda ablation).
 *
 * @module
 */

import type { ConfigResult, EvalConfig } from "./run.ts";
import type { GroupSummary } from "./metrics.ts";

/** What the report says about how the numbers were made. */
export interface ReportContext {
  /** Model id and version. */
  model: string;
  /** Evaluation set folder and the number of cases run (of all). */
  evalSet: { path: string; cases: number; total: number };
  /** Sampler settings shared by every configuration. */
  settings: Record<string, unknown>;
  /** Where it ran. */
  machine: string;
  /** The command that made the report. */
  command: string;
}

/** A configuration with the composite on or off: one row of the table. */
export interface Variant {
  /** Configuration name plus "+composite" when on. */
  name: string;
  /** The configuration. */
  config: ConfigResult;
  /** Composite on. */
  composite: boolean;
  /** Its summaries. */
  summary: Record<string, GroupSummary>;
}

/** Every configuration with the composite off and on. */
export function variants(results: readonly ConfigResult[]): Variant[] {
  return results.flatMap((config) => [
    { name: config.name, config, composite: false, summary: config.raw },
    { name: `${config.name}+composite`, config, composite: true, summary: config.composite },
  ]);
}

/**
 * The recommended defaults: the variant with the highest strict success (a correct edit that also
 * leaves the rest alone), ties broken by success, then by lower leakage.
 */
export function recommend(results: readonly ConfigResult[]): Variant {
  return variants(results).reduce((best, candidate) => {
    const [a, b] = [candidate.summary.all, best.summary.all];
    if (a.strictSuccess !== b.strictSuccess) {
      return a.strictSuccess > b.strictSuccess ? candidate : best;
    }
    if (a.success !== b.success) return a.success > b.success ? candidate : best;
    return a.leakage < b.leakage ? candidate : best;
  });
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const fixed = (value: number, digits = 2) => value.toFixed(digits);
const lambdaText = (lambda: number | "auto") => (lambda === "auto" ? "auto" : String(lambda));
/** The map of a configuration: its source, its rows for attention, and the held-token mode. */
const mapText = (config: EvalConfig) =>
  `${config.mapSource}${config.mapSource === "attention" ? ` (${config.rows} rows)` : ""}, ` +
  `${config.heldTokens}`;

/** The Markdown report. */
export function markdownReport(context: ReportContext, results: readonly ConfigResult[]): string {
  const best = recommend(results);
  const rows = variants(results).map(({ name, config, composite, summary }) => {
    const all = summary.all;
    return `| ${name} | ${mapText(config)} | ${lambdaText(config.lambda)} | ${
      composite ? "on" : "off"
    } | ` +
      `${percent(all.success)} | ${percent(all.strictSuccess)} | ${
        percent(summary.in?.success ?? NaN)
      } | ` +
      `${percent(summary.held_out?.success ?? NaN)} | ${fixed(all.leakage)} | ${
        fixed(all.fidelity)
      } | ` +
      `${fixed(all.localizationIou)} | ${fixed(all.lambda, 3)} | ${fixed(all.ms, 0)} |`;
  });
  const types = Object.keys(best.summary).filter((key) =>
    !key.includes("/") && key !== "all" &&
    key !== "in" && key !== "held_out"
  );
  const typeRows = types.map((type) => {
    const group = best.summary[type];
    return `| ${type} | ${group.count} | ${percent(group.success)} | ${
      percent(group.strictSuccess)
    } | ` +
      `${fixed(group.leakage)} | ${fixed(group.fidelity)} | ${fixed(group.localizationIou)} |`;
  });
  const upstream = variants(results).find((variant) =>
    variant.config.lambda === 0 && !variant.composite
  );
  const comparison = upstream === undefined
    ? ""
    : ` Against upstream's defaults (${upstream.name}: ` +
      `success ${percent(upstream.summary.all.success)}, strict ${
        percent(upstream.summary.all.strictSuccess)
      }, leakage ${fixed(upstream.summary.all.leakage)}), it scores success ${
        percent(best.summary.all.success)
      }, strict ${percent(best.summary.all.strictSuccess)} and leakage ${
        fixed(best.summary.all.leakage)
      }.`;
  return `# Evaluation of ${context.model}

Made by \`${context.command}\` on ${context.machine}.
Evaluation set: \`${context.evalSet.path}\`, ${context.evalSet.cases} of ${context.evalSet.total} cases.
Metric definitions: tools/data/METRICS.md (implemented in examples/eval/metrics.ts, checked against
tools/data/metrics.py). Settings shared by every row: ${
    Object.entries(context.settings).map(([key, value]) => `${key} ${JSON.stringify(value)}`).join(
      ", ",
    )
  }. Each case has one seed for every row, so rows are paired comparisons.

Columns: success and strict success (success with leakage <= 12) over all cases, success in
distribution and held out, leakage (mean abs difference 0-255 to the source outside the edit, lower
is better), fidelity (mean abs difference to the target inside the edit, lower is better),
localization IoU of the map thresholded at the lambda used (at lambda 0 every token is selected, so
it is just the edit's share of the image), mean lambda used, and milliseconds per edit. Rows without
"+composite" are the raw decode (as upstream); "+composite" pastes kept tokens from the source pixels.

| configuration | map | lambda | composite | success | strict | success in-dist | success held-out | leakage | fidelity | loc. IoU | lambda used | ms |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

![success and leakage against lambda](lambda.svg)

## Recommended defaults

**${best.name}**: map ${mapText(best.config)}, lambda ${
    lambdaText(best.config.lambda)
  }, composite ${
    best.composite ? "on" : "off"
  }. It has the highest strict success of every row (ties: success, then leakage), i.e. the most
edits that are right *and* leave the rest of the image alone.${comparison}

Per edit type, for the recommended defaults:

| type | cases | success | strict | leakage | fidelity | loc. IoU |
|---|---|---|---|---|---|---|
${typeRows.join("\n")}
`;
}

/** The JSON report: context, every configuration's summaries, and the recommendation. */
export function jsonReport(context: ReportContext, results: readonly ConfigResult[]): string {
  const best = recommend(results);
  return JSON.stringify(
    {
      ...context,
      configurations: results,
      recommended: {
        name: best.name,
        rows: best.config.rows,
        mapSource: best.config.mapSource,
        heldTokens: best.config.heldTokens,
        lambda: best.config.lambda,
        composite: best.composite,
      },
    },
    (
      _,
      value,
    ) => (typeof value === "number" && !Number.isInteger(value) ? Number(value.toFixed(5)) : value),
    2,
  ) + "\n";
}

const WIDTH = 640;
const HEIGHT = 400;
const PLOT = { left: 60, right: 580, top: 40, bottom: 320 };
const COLORS = { attention: "#1f77b4", change: "#d62728" };

/**
 * Success rate (solid, left axis) and leakage (dashed, right axis) against lambda for the
 * fixed-lambda configurations with the composite off, one colour per row mode; "auto" as markers
 * at its mean lambda, the composite's leakage as hollow markers.
 */
export function lambdaPlot(results: readonly ConfigResult[]): string {
  const fixedRuns = results.filter((result) => result.lambda !== "auto");
  const lambdas = fixedRuns.map((result) => result.lambda as number);
  const maxLambda = Math.max(0.1, ...lambdas, ...results.map((result) => result.raw.all.lambda));
  const maxLeakage = Math.max(1, ...results.map((result) => result.raw.all.leakage)) * 1.1;
  const x = (lambda: number) => PLOT.left + (lambda / maxLambda) * (PLOT.right - PLOT.left);
  const ySuccess = (rate: number) => PLOT.bottom - rate * (PLOT.bottom - PLOT.top);
  const yLeakage = (leakage: number) =>
    PLOT.bottom - (leakage / maxLeakage) * (PLOT.bottom - PLOT.top);
  const parts: string[] = [];
  const line = (points: [number, number][], color: string, dashed: boolean) =>
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${
        dashed ? ' stroke-dasharray="6 4"' : ""
      } points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ")}"/>`,
    );
  const dot = (px: number, py: number, color: string, hollow = false, shape = "circle") =>
    parts.push(
      shape === "circle"
        ? `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="4" fill="${
          hollow ? "white" : color
        }" stroke="${color}" stroke-width="2"/>`
        : `<rect x="${(px - 5).toFixed(1)}" y="${
          (py - 5).toFixed(1)
        }" width="10" height="10" fill="${
          hollow ? "white" : color
        }" stroke="${color}" stroke-width="2"/>`,
    );
  // One series per map source in its own held-token mode (upstream's; the change map's "fixed").
  const modes = { attention: "scheduled", change: "fixed" } as const;
  for (const source of ["attention", "change"] as const) {
    const inSeries = (result: ConfigResult) =>
      result.mapSource === source && result.heldTokens === modes[source];
    const series = fixedRuns
      .filter((result) => inSeries(result) || result.lambda === 0)
      .sort((a, b) => (a.lambda as number) - (b.lambda as number));
    if (series.length === 0) continue;
    const color = COLORS[source];
    line(series.map((r) => [x(r.lambda as number), ySuccess(r.raw.all.success)]), color, false);
    line(series.map((r) => [x(r.lambda as number), yLeakage(r.raw.all.leakage)]), color, true);
    for (const r of series) {
      dot(x(r.lambda as number), yLeakage(r.composite.all.leakage), color, true);
    }
    for (
      const auto of results.filter((result) => result.lambda === "auto" && inSeries(result))
    ) {
      dot(x(auto.raw.all.lambda), ySuccess(auto.raw.all.success), color, false, "square");
      dot(x(auto.raw.all.lambda), yLeakage(auto.raw.all.leakage), color, true, "square");
    }
  }
  const ticks: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const rate = i / 5;
    const lambda = (maxLambda * i) / 5;
    const leakage = (maxLeakage * i) / 5;
    ticks.push(
      `<text x="${PLOT.left - 8}" y="${ySuccess(rate) + 4}" text-anchor="end">${
        percent(rate)
      }</text>`,
      `<text x="${PLOT.right + 8}" y="${yLeakage(leakage) + 4}">${leakage.toFixed(1)}</text>`,
      `<text x="${x(lambda)}" y="${PLOT.bottom + 18}" text-anchor="middle">${
        lambda.toFixed(2)
      }</text>`,
      `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${ySuccess(rate)}" y2="${
        ySuccess(rate)
      }" stroke="#ddd"/>`,
    );
  }
  const legend = [
    `<text x="${PLOT.left}" y="22" font-weight="bold">Edit success (solid, left) and leakage (dashed, right) vs lambda</text>`,
    `<text x="${PLOT.left}" y="${
      HEIGHT - 26
    }" fill="${COLORS.attention}">blue: attention map</text>`,
    `<text x="${PLOT.left + 150}" y="${
      HEIGHT - 26
    }" fill="${COLORS.change}">red: change map, held fixed</text>`,
    `<text x="${PLOT.left}" y="${
      HEIGHT - 8
    }">squares: lambda auto; hollow: leakage with composite</text>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${
      PLOT.bottom + 36
    }" text-anchor="middle">lambda</text>`,
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${ticks.join("\n")}
<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${
    PLOT.bottom - PLOT.top
  }" fill="none" stroke="#333"/>
${parts.join("\n")}
${legend.join("\n")}
</svg>
`;
}
