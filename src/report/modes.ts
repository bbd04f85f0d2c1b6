/**
 * Cold against prewarmed starts (docs/methodology.md, "Start modes"): per runtime, the start-up and
 * total of its cold and its prewarmed invocations over the (function, input) cells both ran, and the
 * ratio prewarmed / cold with a stratified-bootstrap CI. A run with both modes compares runtimes on
 * its cold invocations (the thesis' definition); this table is where the prewarmed ones go.
 */
import type { Runtime, StartMode } from '../protocol/api.js';
import type { InvocationLine } from '../protocol/results.js';
import { medianOfMedians, type Interval } from './stats.js';
import { groupBy, isMeasured, metricValue } from './summary.js';

/** The metrics the modes table compares: what a prepared instance moves, and what the caller waits for. */
export const MODE_METRICS = ['startup_us', 'total_us'] as const;
export type ModeMetric = (typeof MODE_METRICS)[number];

/** The start mode of a line (lines from before modes existed were cold). */
export function modeOf(line: InvocationLine): StartMode {
  return line.mode ?? 'cold';
}

/** One mode's side of a comparison. */
export interface ModeSide {
  /** Measured invocations in the compared cells. */
  n: number;
  /** Median over cells of per-cell medians (the thesis' aggregate). */
  aggregate: number;
  /** CI of the median over all its invocations in the compared cells. */
  median_ci: Interval;
}

export interface ModeComparison {
  runtime: Runtime;
  metric: ModeMetric;
  cold: ModeSide;
  prewarmed: ModeSide & {
    /** Measured prewarmed invocations that found an instance prepared ahead (`prepared: true`). */
    prepared: number;
  };
  /** aggregate(prewarmed) / aggregate(cold) with a stratified-bootstrap CI over the cells. */
  ratio: Interval;
}

/** Where the bootstrap intervals come from (compare.ts's queue: filled in after all are collected). */
export interface ModeBoot {
  median(xs: number[]): Interval;
  ratio(a: number[][], b: number[][]): Interval;
}

/**
 * Per runtime (in `runtimes` order) that ran both modes on at least one common (function, input)
 * cell, the comparison of each MODE_METRICS; empty for a run of one mode.
 */
export function compareModes(lines: readonly InvocationLine[], runtimes: readonly Runtime[], boot: ModeBoot): ModeComparison[] {
  const out: ModeComparison[] = [];
  const measured = lines.filter(isMeasured);
  const byRuntime = groupBy(measured, (l) => l.runtime);
  for (const runtime of runtimes) {
    const rl = byRuntime.get(runtime) ?? [];
    const cold = groupBy(rl.filter((l) => modeOf(l) === 'cold'), cellKey);
    const warm = groupBy(rl.filter((l) => modeOf(l) === 'prewarmed'), cellKey);
    const keys = [...cold.keys()].filter((k) => warm.has(k));
    if (keys.length === 0) continue;
    for (const metric of MODE_METRICS) {
      const cells = (by: Map<string, InvocationLine[]>): number[][] => keys.map((k) => valuesOf(by.get(k) ?? [], metric));
      const coldCells = cells(cold);
      const warmCells = cells(warm);
      const warmLines = keys.flatMap((k) => warm.get(k) ?? []);
      out.push({
        runtime,
        metric,
        cold: side(coldCells, boot),
        prewarmed: { ...side(warmCells, boot), prepared: warmLines.filter((l) => l.prepared === true).length },
        ratio: boot.ratio(warmCells, coldCells),
      });
    }
  }
  return out;
}

function cellKey(l: InvocationLine): string {
  return `${l.function}\u0000${l.input}`;
}

function valuesOf(lines: readonly InvocationLine[], metric: ModeMetric): number[] {
  const out: number[] = [];
  for (const l of lines) {
    const v = metricValue(l, metric);
    if (v !== undefined) out.push(v);
  }
  return out;
}

function side(cells: number[][], boot: ModeBoot): ModeSide {
  const all = cells.flat();
  return { n: all.length, aggregate: medianOfMedians(cells), median_ci: boot.median(all) };
}
