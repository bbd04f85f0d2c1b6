/**
 * The Wasm-vs-container comparison: per target, per function, each runtime's figures with confidence
 * intervals, its ratio to the baseline runtime, and the per-input medians — the model every exporter
 * renders. Pure: runs in, a JSON-able Report out (NaN becomes null in JSON).
 */
import type { Runtime } from '../protocol/api.js';
import type { InvocationLine } from '../protocol/results.js';
import { formatWarning, type LoadedRun } from './load.js';
import {
  bootstrapCI,
  bootstrapMedianOfMediansRatioCI,
  describe,
  mannWhitneyU,
  median,
  medianOfMedians,
  type Describe,
  type Interval,
  type MannWhitney,
} from './stats.js';
import { countLines, groupBy, isMeasured, METRICS, metricValue, type Counts, type Metric } from './summary.js';

export interface ReportOptions {
  /** Runtime every ratio is taken against (default wasm). */
  baseline?: Runtime;
  /** Bootstrap seed (default 1). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

/** A metric's distribution over all measured invocations, with a CI for its median. */
export interface MetricFigure extends Describe {
  median_ci: Interval;
  /** The thesis' aggregate: median over inputs of per-input medians. */
  aggregate: number;
}

/** A runtime against the baseline on one metric. */
export interface Comparison {
  /** aggregate(runtime) / aggregate(baseline) with a stratified-bootstrap CI. */
  ratio: Interval;
  /** Mann–Whitney U of the runtime's invocations against the baseline's. */
  test: MannWhitney;
}

export interface RuntimeReport extends Counts {
  runtime: Runtime;
  metrics: Record<Metric, MetricFigure>;
  /** Null for the baseline itself, or when the baseline runtime was not run. */
  vs_baseline: Record<Metric, Comparison> | null;
}

export interface InputCell {
  runtime: Runtime;
  n: number;
  median: Record<Metric, number>;
  /** median(runtime) / median(baseline) at this input; null for the baseline. */
  ratio: Record<Metric, number> | null;
}

export interface InputReport {
  input: string;
  cells: InputCell[];
}

export interface FunctionReport {
  function: string;
  runtimes: RuntimeReport[];
  inputs: InputReport[];
}

/** "Docker vs Wasm, N×" for one metric, over every function and input of a target. */
export interface Headline {
  metric: Metric;
  runtime: Runtime;
  baseline: Runtime;
  /** Median over (function, input) cells of per-cell medians. */
  value: number;
  baseline_value: number;
  ratio: Interval;
}

export interface TargetReport {
  label: string;
  dir: string;
  run_id: string | null;
  status: string;
  finished: boolean;
  arch: string | null;
  url: string | null;
  meter: string | null;
  baseline_w: number | null;
  counts: Counts;
  runtimes: Runtime[];
  functions: FunctionReport[];
  headlines: Headline[];
  /** Warnings as "file[:line]: message". */
  warnings: string[];
}

export interface Report {
  baseline: Runtime;
  level: number;
  seed: number;
  resamples: number;
  targets: TargetReport[];
}

/** Inputs in numeric order when all are numbers (the thesis sweeps), else in first-seen order. */
export function orderInputs(inputs: readonly string[]): string[] {
  const unique = [...new Set(inputs)];
  if (unique.every((s) => s.trim() !== '' && Number.isFinite(Number(s)))) return unique.sort((a, b) => Number(a) - Number(b));
  return unique;
}

function values(lines: readonly InvocationLine[], metric: Metric): number[] {
  const out: number[] = [];
  for (const l of lines) {
    if (!isMeasured(l)) continue;
    const v = metricValue(l, metric);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Per-input value arrays of `metric` for `lines`, in the order of `inputs`. */
function cells(lines: readonly InvocationLine[], inputs: readonly string[], metric: Metric): number[][] {
  const byInput = groupBy(lines, (l) => l.input);
  return inputs.map((i) => values(byInput.get(i) ?? [], metric));
}

const RUNTIME_ORDER: Runtime[] = ['wasm', 'component', 'native', 'docker'];

function orderRuntimes(runtimes: Iterable<Runtime>, baseline: Runtime): Runtime[] {
  const set = new Set(runtimes);
  return [baseline, ...RUNTIME_ORDER.filter((r) => r !== baseline)].filter((r) => set.has(r));
}

function compareFunction(fn: string, lines: readonly InvocationLine[], runtimes: Runtime[], o: Required<ReportOptions>): FunctionReport {
  const byRuntime = groupBy(lines, (l) => l.runtime);
  const inputs = orderInputs(lines.map((l) => l.input));
  const base = byRuntime.get(o.baseline);
  const boot = { seed: o.seed, resamples: o.resamples, level: o.level };
  const present = runtimes.filter((r) => byRuntime.has(r));

  const runtimeReports: RuntimeReport[] = present.map((runtime) => {
    const rl = byRuntime.get(runtime) ?? [];
    const metrics = {} as Record<Metric, MetricFigure>;
    for (const m of METRICS) {
      const xs = values(rl, m);
      metrics[m] = { ...describe(xs), median_ci: bootstrapCI(xs, boot), aggregate: medianOfMedians(cells(rl, inputs, m)) };
    }
    let vs: Record<Metric, Comparison> | null = null;
    if (base && runtime !== o.baseline) {
      vs = {} as Record<Metric, Comparison>;
      for (const m of METRICS) {
        vs[m] = {
          ratio: bootstrapMedianOfMediansRatioCI(cells(rl, inputs, m), cells(base, inputs, m), boot),
          test: mannWhitneyU(values(rl, m), values(base, m)),
        };
      }
    }
    return { runtime, ...countLines(rl), metrics, vs_baseline: vs };
  });

  const inputReports: InputReport[] = inputs.map((input) => {
    const baseLines = (base ?? []).filter((l) => l.input === input);
    const baseMedian = {} as Record<Metric, number>;
    for (const m of METRICS) baseMedian[m] = median(values(baseLines, m));
    return {
      input,
      cells: present.map((runtime) => {
        const il = (byRuntime.get(runtime) ?? []).filter((l) => l.input === input);
        const med = {} as Record<Metric, number>;
        for (const m of METRICS) med[m] = median(values(il, m));
        let ratio: Record<Metric, number> | null = null;
        if (base && runtime !== o.baseline) {
          ratio = {} as Record<Metric, number>;
          for (const m of METRICS) ratio[m] = med[m] / baseMedian[m];
        }
        return { runtime, n: il.filter(isMeasured).length, median: med, ratio };
      }),
    };
  });
  return { function: fn, runtimes: runtimeReports, inputs: inputReports };
}

function headlines(lines: readonly InvocationLine[], runtimes: Runtime[], o: Required<ReportOptions>): Headline[] {
  const cellKey = (l: InvocationLine): string => `${l.function}\u0000${l.input}`;
  const keys = [...new Set(lines.map(cellKey))];
  const byRuntime = groupBy(lines, (l) => l.runtime);
  const base = byRuntime.get(o.baseline);
  if (!base) return [];
  const cellsOf = (rl: readonly InvocationLine[], m: Metric): number[][] => {
    const by = groupBy(rl, cellKey);
    return keys.map((k) => values(by.get(k) ?? [], m));
  };
  const out: Headline[] = [];
  for (const m of METRICS) {
    const baseCells = cellsOf(base, m);
    const baseValue = medianOfMedians(baseCells);
    if (!Number.isFinite(baseValue)) continue;
    for (const runtime of runtimes) {
      if (runtime === o.baseline) continue;
      const rc = cellsOf(byRuntime.get(runtime) ?? [], m);
      const value = medianOfMedians(rc);
      if (!Number.isFinite(value)) continue;
      out.push({
        metric: m,
        runtime,
        baseline: o.baseline,
        value,
        baseline_value: baseValue,
        ratio: bootstrapMedianOfMediansRatioCI(rc, baseCells, { seed: o.seed, resamples: o.resamples, level: o.level }),
      });
    }
  }
  return out;
}

/** Builds the comparison of one loaded run. */
export function compareRun(run: LoadedRun, options: ReportOptions = {}): TargetReport {
  const o: Required<ReportOptions> = { baseline: 'wasm', seed: 1, resamples: 2000, level: 0.95, ...options };
  const lines = run.invocations;
  const runtimes = orderRuntimes(lines.map((l) => l.runtime), o.baseline);
  const functions = [...groupBy(lines, (l) => l.function)].map(([fn, fl]) => compareFunction(fn, fl, runtimes, o));
  const r = run.run;
  return {
    label: run.label,
    dir: run.dir,
    run_id: r?.run_id ?? lines[0]?.run_id ?? null,
    status: r?.status ?? 'unknown',
    finished: run.finished,
    arch: r?.target.health?.arch ?? null,
    url: r?.target.url ?? null,
    meter: r?.meter.spec ?? null,
    baseline_w: r?.baseline.before?.power_w ?? null,
    counts: countLines(lines),
    runtimes,
    functions,
    headlines: headlines(lines, runtimes, o),
    warnings: run.warnings.map(formatWarning),
  };
}

/** Builds the report over one or more loaded runs (targets side by side). */
export function buildReport(runs: readonly LoadedRun[], options: ReportOptions = {}): Report {
  const o: Required<ReportOptions> = { baseline: 'wasm', seed: 1, resamples: 2000, level: 0.95, ...options };
  return { baseline: o.baseline, level: o.level, seed: o.seed, resamples: o.resamples, targets: runs.map((r) => compareRun(r, o)) };
}
