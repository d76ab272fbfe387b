/**
 * Small helpers shared by the latency and real-size timing scripts: repeated timing with a
 * warm-up, medians, and a description of the machine the numbers came from.
 *
 * @module
 */

import process from "node:process";

/** Milliseconds of every timed run of something, after its warm-up runs. */
export interface Timing {
  /** Median over the timed runs. */
  median: number;
  /** Fastest timed run. */
  min: number;
  /** Every timed run, in order. */
  all: number[];
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Rounds to one decimal, for reports. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Summarizes run times (milliseconds) as a {@linkcode Timing}. */
export function timing(all: readonly number[]): Timing {
  return { median: round1(median(all)), min: round1(Math.min(...all)), all: all.map(round1) };
}

/** CPU milliseconds (user + system, all threads) this process has used so far. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Runs `work` `warmup` times untimed, then `runs` times timed; returns the timed milliseconds.
 *
 * @example
 * ```ts
 * const times = await timeRuns(() => Promise.resolve(), { warmup: 1, runs: 5 });
 * console.log(timing(times).median);
 * ```
 */
export async function timeRuns(
  work: () => Promise<unknown>,
  counts: { warmup: number; runs: number },
): Promise<number[]> {
  return (await timeRunsWithCpu(work, counts)).wall;
}

/**
 * Like {@linkcode timeRuns}, also returning the process CPU milliseconds of every timed run: on a
 * machine shared with other jobs, single-threaded CPU time is steadier than wall time.
 */
export async function timeRunsWithCpu(
  work: () => Promise<unknown>,
  counts: { warmup: number; runs: number },
): Promise<{ wall: number[]; cpu: number[] }> {
  for (let i = 0; i < counts.warmup; i++) await work();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < counts.runs; i++) {
    const started = performance.now();
    const cpuStarted = cpuMs();
    await work();
    wall.push(performance.now() - started);
    cpu.push(cpuMs() - cpuStarted);
  }
  return { wall, cpu };
}

/** CPU model, core count and load averages of this machine (Linux /proc), for the report. */
export async function machine(): Promise<{ cpu: string; cores: number; loadAverage: number[] }> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? Deno.build.arch;
  return { cpu, cores: navigator.hardwareConcurrency, loadAverage: Deno.loadavg() };
}

/** Writes `value` as indented JSON to `path`, creating its folder. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  const folder = path.slice(0, path.lastIndexOf("/"));
  if (folder) await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2) + "\n");
}
