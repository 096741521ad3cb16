/**
 * What every benchmark's result shares: the machine it ran on, order statistics, and the
 * headline rows `bench/run.ts` merges into one table (`bench/results/latest.json`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';

export const RESULTS_DIR = join(import.meta.dirname, '..', 'results');

export interface Machine {
  readonly node: string;
  readonly cores: number;
  readonly cpu: string;
  /** 1-minute load average when the run started: above the core count, numbers are noisy. */
  readonly loadAverage: number;
}

export function machine(): Machine {
  return {
    node: process.version,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function machineLine(m: Machine = machine()): string {
  const shared = m.loadAverage >= m.cores * 0.5 ? `; load average ${m.loadAverage} on ${m.cores} cores: a shared machine, expect noise` : `; load average ${m.loadAverage}`;
  return `Node ${m.node}, ${m.cores} cores (${m.cpu})${shared}`;
}

/** One line of the merged table: a figure, its budget (if any) and whether it is met. */
export interface Headline {
  readonly benchmark: string;
  readonly metric: string;
  readonly value: string;
  readonly budget?: string;
  /** `pass`/`FAIL` against the budget; absent when the figure has no budget. */
  readonly status?: 'pass' | 'FAIL';
}

/** The q-quantile (0…1) of `xs` by the nearest-rank method (p99 of 300 samples is the 297th). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Latencies in ms → summary in ms, to 0.01 ms. */
export function summarize(ms: readonly number[]): LatencySummary {
  const r = (n: number) => Math.round(n * 100) / 100;
  return {
    count: ms.length,
    p50: r(quantile(ms, 0.5)),
    p90: r(quantile(ms, 0.9)),
    p99: r(quantile(ms, 0.99)),
    max: r(Math.max(...ms)),
    mean: r(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)),
  };
}

export const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Write `bench/results/<name>.json`; returns its path. */
export async function writeResult(name: string, value: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/**
 * The row counts and rounds a size-driven benchmark (import, export) runs: the sizes named on
 * the command line, else 100,000 and 1,000,000 (a tenth of each with `--quick`); `--rounds=N`
 * rounds each, else three for up to 100,000 rows and one above (one with `--quick`).
 */
export function sizedRuns(argv: readonly string[] = process.argv.slice(2)): { readonly quick: boolean; readonly sizes: number[]; roundsFor(rows: number): number } {
  const quick = argv.includes('--quick');
  const named = argv.map(Number).filter((n) => n > 0);
  const roundsArg = argv.find((a) => a.startsWith('--rounds='));
  return {
    quick,
    sizes: named.length > 0 ? named : quick ? [10_000, 100_000] : [100_000, 1_000_000],
    roundsFor: (rows) => (roundsArg !== undefined ? Math.max(1, Number(roundsArg.slice(9))) : quick ? 1 : rows <= 100_000 ? 3 : 1),
  };
}
