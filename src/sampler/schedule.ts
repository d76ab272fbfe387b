/** How the fraction of still-masked tokens falls over the steps. */
export type MaskSchedule = "cosine" | "linear";

/** What the step graph's `timestep` input means (manifest `transformer.timestep`). */
export type TimestepConvention = "step-index" | "mask-ratio";

/**
 * Fraction of the starting mask that stays masked after step `step` (0-based) of `steps`:
 * cosine `cos(pi/2 * (step+1)/steps)` (upstream), or linear `1 - (step+1)/steps`.
 */
export function maskRatio(schedule: MaskSchedule, step: number, steps: number): number {
  const progress = (step + 1) / steps;
  return schedule === "cosine" ? Math.cos((Math.PI / 2) * progress) : 1 - progress;
}

/**
 * Number of tokens to re-mask after a step, clamped as upstream:
 * `mask_len = floor(n * (startingMaskRatio * ratio))`, then `min(unknown - 1, mask_len)`, then
 * `max(1, mask_len)`, where `unknown` counts the tokens that were masked when the step began.
 */
export function maskLength(
  tokenCount: number,
  startingMaskRatio: number,
  ratio: number,
  unknown: number,
): number {
  return Math.max(1, Math.min(unknown - 1, Math.floor(tokenCount * (startingMaskRatio * ratio))));
}

/**
 * Per-step temperatures as `torch.linspace(first, last, steps)`: the first half counts up from
 * `first` and the second half down from `last`, in steps of `(last - first) / (steps - 1)`. A scalar
 * `T` means `linspace(T, 0.01, steps)`, as upstream.
 */
export function temperatures(
  temperature: number | readonly [number, number],
  steps: number,
): Float64Array {
  const [first, last] = typeof temperature === "number" ? [temperature, 0.01] : temperature;
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = first;
    return out;
  }
  const increment = (last - first) / (steps - 1);
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < half ? first + increment * i : last - increment * (steps - 1 - i);
  }
  return out;
}

/**
 * Value of the graph's `timestep` input at step `step` of `steps`: `steps - 1 - step` for
 * "step-index" (upstream inference), or the fraction of tokens masked at the step's start for
 * "mask-ratio".
 */
export function timestepValue(
  convention: TimestepConvention,
  step: number,
  steps: number,
  maskedFraction: number,
): number {
  return convention === "step-index" ? steps - 1 - step : maskedFraction;
}
