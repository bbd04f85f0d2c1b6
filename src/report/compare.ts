/**
 * The Wasm-vs-container comparison: per target, per function, each runtime's figures with confidence
 * intervals, its ratio to the baseline runtime, and the per-input medians — the model every exporter
 * renders. Pure: runs in, a JSON-able Report out (NaN becomes null in JSON).
 */
import type { Runtime } from '../protocol/api.js';
import type { InvocationLine } from '../protocol/results.js';
import { runJobs, runJobsSync, type BootOptions, type BootstrapJob, type ProgressFn } from './bootstrap-jobs.js';
import { formatWarning, type LoadedRun } from './load.js';
import { compareModes, modeOf, type ModeComparison } from './modes.js';
import { startupByPredecessor, type PredecessorEffect } from './predecessor.js';
import {
  describe,
  mannWhitneyU,
  median,
  medianOfMedians,
  type Describe,
  type Interval,
  type MannWhitney,
} from './stats.js';
import { allEnergyFlags, countLines, energyFlags, groupBy, isEnergy, isMeasured, METRICS, metricValue, unusableShare, type Counts, type EnergyFlags, type EnergyMetric, type Metric } from './summary.js';
import { driftCaveat, driftW } from '../meter/baseline-drift.js';
import type { MeterObserved } from '../meter/meter-observer.js';

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

export interface ParallelReportOptions extends ReportOptions {
  /** Worker threads for the bootstrap besides this one (default: available cores − 1). */
  workers?: number;
  /** Below this many draws in all the bootstrap stays on this thread (default 20 million). */
  minParallelCost?: number;
  /** Called as bootstrap intervals complete (`done` of `total`). */
  onProgress?: ProgressFn;
}

/** A metric's distribution over all measured invocations, with a CI for its median. */
export interface MetricFigure extends Describe {
  median_ci: Interval;
  /** The thesis' aggregate: median over inputs of per-input medians. */
  aggregate: number;
}

/** A runtime against the baseline on one metric. */
export interface Comparison {
  /** aggregate(runtime) / aggregate(baseline) with a stratified-bootstrap CI (NaN when refused). */
  ratio: Interval;
  /** Why no ratio is given: its inputs are mostly flagged or negative (energy only). */
  refused?: string;
  /** Mann–Whitney U of the runtime's invocations against the baseline's. */
  test: MannWhitney;
}

export interface RuntimeReport extends Counts {
  runtime: Runtime;
  /** Per energy metric: how many values are usable, flagged or negative (absent without energy). */
  energy_flags?: Partial<Record<EnergyMetric, EnergyFlags>>;
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
  /** Why no ratio is given (energy whose inputs are mostly flagged or negative). */
  refused?: string;
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
  /** Where the figures come from: a Nebula run directory or an imported thesis result file. */
  source: 'nebula' | 'thesis';
  /** What the samples showed about the meter (run.json, or computed from samples.jsonl). */
  meter_observed: MeterObserved | null;
  baseline_w: number | null;
  /** Idle power after the run − before, W. */
  drift_w: number | null;
  /** Run-wide energy caveats (a drift large against the isolated power). */
  caveats: string[];
  counts: Counts;
  runtimes: Runtime[];
  functions: FunctionReport[];
  headlines: Headline[];
  /** Warnings as "file[:line]: message". */
  warnings: string[];
  /** Start-up by the runtime invoked before (lines that record it), per runtime. */
  predecessors: PredecessorEffect[];
  /** Cold vs prewarmed per runtime, when the run has both start modes (src/report/modes.ts). */
  modes: ModeComparison[];
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

/** The values of `metric` over the measured lines (warm-ups, failures and missing values left out). */
export function values(lines: readonly InvocationLine[], metric: Metric): number[] {
  const out: number[] = [];
  for (const l of lines) {
    if (!isMeasured(l)) continue;
    const v = metricValue(l, metric);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/**
 * Collects the bootstrap intervals a report needs as jobs and hands out their Interval objects, to be
 * filled in once the jobs have run (here or in workers): the costly part is then a flat list of
 * independent jobs, and the rest of the comparison is computed once.
 */
class BootQueue {
  readonly jobs: BootstrapJob[] = [];
  readonly #intervals: Interval[] = [];
  constructor(readonly options: BootOptions) {}

  #add(job: BootstrapJob): Interval {
    const interval: Interval = { estimate: NaN, low: NaN, high: NaN, level: this.options.level };
    this.jobs.push(job);
    this.#intervals.push(interval);
    return interval;
  }

  /** CI of the median of xs (bootstrapCI). */
  median(xs: number[]): Interval {
    return this.#add({ kind: 'median', xs, options: this.options });
  }

  /** Stratified CI of medianOfMedians(a) / medianOfMedians(b). */
  ratio(a: number[][], b: number[][]): Interval {
    return this.#add({ kind: 'stratified', a, b, options: this.options });
  }

  /** Fills the handed-out intervals with the jobs' results (in job order). */
  fill(results: readonly Interval[]): void {
    this.#intervals.forEach((interval, i) => Object.assign(interval, results[i]));
  }
}

/** A ratio is refused when more than this share of either side's values is flagged or negative. */
const REFUSE_ABOVE = 0.5;

/**
 * Why an energy ratio must not be printed, or undefined when it may: more than half of either side's
 * values come from windows too short for the meter to measure alone, or (isolated) are negative.
 */
export function refusal(metric: Metric, sides: readonly { runtime: Runtime; lines: readonly InvocationLine[] }[]): string | undefined {
  if (!isEnergy(metric)) return undefined;
  for (const { runtime, lines } of sides) {
    const f = energyFlags(lines, metric);
    if (f.values === 0 || unusableShare(f) <= REFUSE_ABOVE) continue;
    const why: string[] = [];
    if (f.not_measurable) why.push(`${f.not_measurable} come from windows too short for the meter to measure alone`);
    if (f.negative) why.push(`${f.negative} are negative`);
    const todo = f.not_measurable >= f.negative
      ? 'measure batches or a load stage (energy per call), use longer inputs, or a meter that refreshes faster'
      : 'the idle power is as large as the effect: measure a longer baseline, check the drift, or use batches';
    return `of ${f.values} ${runtime} values ${why.join(' and ')} — no ratio; ${todo}`;
  }
  return undefined;
}

const REFUSED: Interval = { estimate: NaN, low: NaN, high: NaN, level: NaN };

const RUNTIME_ORDER: Runtime[] = ['wasm', 'component', 'native', 'docker'];

function orderRuntimes(runtimes: Iterable<Runtime>, baseline: Runtime): Runtime[] {
  const set = new Set(runtimes);
  return [baseline, ...RUNTIME_ORDER.filter((r) => r !== baseline)].filter((r) => set.has(r));
}

/** One runtime's lines of one function, split once: per metric all values (in line order) and per input. */
interface RuntimeData {
  lines: InvocationLine[];
  byInput: Map<string, InvocationLine[]>;
  all: Record<Metric, number[]>;
  /** Per metric, the values of each input in `inputs` order. */
  cells: Record<Metric, number[][]>;
}

function runtimeData(lines: InvocationLine[], inputs: readonly string[]): RuntimeData {
  const byInput = groupBy(lines, (l) => l.input);
  const all = {} as Record<Metric, number[]>;
  const cellValues = {} as Record<Metric, number[][]>;
  for (const m of METRICS) {
    all[m] = values(lines, m);
    cellValues[m] = inputs.map((i) => values(byInput.get(i) ?? [], m));
  }
  return { lines, byInput, all, cells: cellValues };
}

function compareFunction(fn: string, lines: readonly InvocationLine[], runtimes: Runtime[], o: Required<ReportOptions>, boot: BootQueue): FunctionReport {
  const byRuntime = groupBy(lines, (l) => l.runtime);
  const inputs = orderInputs(lines.map((l) => l.input));
  const present = runtimes.filter((r) => byRuntime.has(r));
  const data = new Map(present.map((r) => [r, runtimeData(byRuntime.get(r) ?? [], inputs)]));
  const base = data.get(o.baseline);

  const runtimeReports: RuntimeReport[] = present.map((runtime) => {
    const d = data.get(runtime) as RuntimeData;
    const metrics = {} as Record<Metric, MetricFigure>;
    for (const m of METRICS) {
      const xs = d.all[m];
      metrics[m] = { ...describe(xs), median_ci: boot.median(xs), aggregate: medianOfMedians(d.cells[m]) };
    }
    let vs: Record<Metric, Comparison> | null = null;
    if (base && runtime !== o.baseline) {
      vs = {} as Record<Metric, Comparison>;
      for (const m of METRICS) {
        const refused = refusal(m, [{ runtime, lines: d.lines }, { runtime: o.baseline, lines: base.lines }]);
        vs[m] = refused
          ? { ratio: { ...REFUSED, level: o.level }, refused, test: mannWhitneyU(d.all[m], base.all[m]) }
          : { ratio: boot.ratio(d.cells[m], base.cells[m]), test: mannWhitneyU(d.all[m], base.all[m]) };
      }
    }
    const flags = allEnergyFlags(d.lines);
    return { runtime, ...countLines(d.lines), ...(flags ? { energy_flags: flags } : {}), metrics, vs_baseline: vs };
  });

  const inputReports: InputReport[] = inputs.map((input, ii) => {
    const baseMedian = {} as Record<Metric, number>;
    for (const m of METRICS) baseMedian[m] = median(base?.cells[m][ii] ?? []);
    return {
      input,
      cells: present.map((runtime) => {
        const d = data.get(runtime) as RuntimeData;
        const med = {} as Record<Metric, number>;
        for (const m of METRICS) med[m] = median(d.cells[m][ii] ?? []);
        let ratio: Record<Metric, number> | null = null;
        if (base && runtime !== o.baseline) {
          ratio = {} as Record<Metric, number>;
          for (const m of METRICS) ratio[m] = med[m] / baseMedian[m];
        }
        return { runtime, n: (d.byInput.get(input) ?? []).filter(isMeasured).length, median: med, ratio };
      }),
    };
  });
  return { function: fn, runtimes: runtimeReports, inputs: inputReports };
}

function headlines(lines: readonly InvocationLine[], runtimes: Runtime[], o: Required<ReportOptions>, boot: BootQueue): Headline[] {
  const cellKey = (l: InvocationLine): string => `${l.function}\u0000${l.input}`;
  const keys = [...new Set(lines.map(cellKey))];
  const byRuntime = groupBy(lines, (l) => l.runtime);
  if (!byRuntime.has(o.baseline)) return [];
  // Per runtime, its lines per (function, input) cell in `keys` order — grouped once for all metrics.
  const cellLines = new Map<string, InvocationLine[][]>();
  for (const [runtime, rl] of byRuntime) {
    const by = groupBy(rl, cellKey);
    cellLines.set(runtime, keys.map((k) => by.get(k) ?? []));
  }
  const cellsOf = (runtime: Runtime, m: Metric): number[][] => (cellLines.get(runtime) ?? []).map((ls) => values(ls, m));
  const out: Headline[] = [];
  for (const m of METRICS) {
    const baseCells = cellsOf(o.baseline, m);
    const baseValue = medianOfMedians(baseCells);
    if (!Number.isFinite(baseValue)) continue;
    for (const runtime of runtimes) {
      if (runtime === o.baseline) continue;
      const rc = cellsOf(runtime, m);
      const value = medianOfMedians(rc);
      if (!Number.isFinite(value)) continue;
      const refused = refusal(m, [
        { runtime, lines: byRuntime.get(runtime) ?? [] },
        { runtime: o.baseline, lines: byRuntime.get(o.baseline) ?? [] },
      ]);
      out.push(
        refused
          ? { metric: m, runtime, baseline: o.baseline, value, baseline_value: baseValue, ratio: { ...REFUSED, level: o.level }, refused }
          : { metric: m, runtime, baseline: o.baseline, value, baseline_value: baseValue, ratio: boot.ratio(rc, baseCells) },
      );
    }
  }
  return out;
}

const DEFAULTS: Required<ReportOptions> = { baseline: 'wasm', seed: 1, resamples: 2000, level: 0.95 };

/** The comparison of one run with its bootstrap intervals queued on `boot` (still NaN on return). */
function compareInto(run: LoadedRun, o: Required<ReportOptions>, boot: BootQueue): TargetReport {
  const all = run.invocations;
  // Runtimes are compared on one start mode: the cold invocations when the run has any (the thesis'
  // definition); cold vs prewarmed is its own table.
  const cold = all.filter((l) => modeOf(l) === 'cold');
  const lines = cold.length > 0 ? cold : all;
  const runtimes = orderRuntimes(all.map((l) => l.runtime), o.baseline);
  const functions = [...groupBy(lines, (l) => l.function)].map(([fn, fl]) => compareFunction(fn, fl, runtimes, o, boot));
  const r = run.run;
  return {
    label: run.label,
    dir: run.dir,
    run_id: r?.run_id ?? lines[0]?.run_id ?? null,
    status: r?.status ?? 'unknown',
    finished: run.finished,
    arch: r?.target.health?.arch ?? null,
    url: r?.target.url ?? null,
    meter: r?.meter.spec ?? run.thesis?.meter ?? null,
    source: run.thesis ? 'thesis' : 'nebula',
    meter_observed: run.observed,
    baseline_w: r?.baseline.before?.power_w ?? run.thesis?.baseline_w ?? null,
    drift_w: r ? driftW(r.baseline) : null,
    caveats: r ? [driftCaveat(r.baseline, all)?.message].filter((c): c is string => !!c) : [],
    counts: countLines(all),
    runtimes,
    functions,
    headlines: headlines(lines, runtimes, o, boot),
    warnings: run.warnings.map(formatWarning),
    predecessors: startupByPredecessor(lines),
    modes: compareModes(all, runtimes, boot),
  };
}

/** Builds the comparison of one loaded run. */
export function compareRun(run: LoadedRun, options: ReportOptions = {}): TargetReport {
  const o: Required<ReportOptions> = { ...DEFAULTS, ...options };
  const boot = new BootQueue({ seed: o.seed, resamples: o.resamples, level: o.level });
  const target = compareInto(run, o, boot);
  boot.fill(runJobsSync(boot.jobs));
  return target;
}

function prepare(runs: readonly LoadedRun[], options: ReportOptions): { report: Report; boot: BootQueue } {
  const o: Required<ReportOptions> = { ...DEFAULTS, ...options };
  const boot = new BootQueue({ seed: o.seed, resamples: o.resamples, level: o.level });
  const targets = runs.map((r) => compareInto(r, o, boot));
  return { report: { baseline: o.baseline, level: o.level, seed: o.seed, resamples: o.resamples, targets }, boot };
}

/** Builds the report over one or more loaded runs (targets side by side), on this thread. */
export function buildReport(runs: readonly LoadedRun[], options: ReportOptions = {}): Report {
  const { report, boot } = prepare(runs, options);
  boot.fill(runJobsSync(boot.jobs));
  return report;
}

/**
 * buildReport with the bootstrap spread over worker threads (one per spare core) and its progress
 * reported; the same report, bit for bit (every interval seeds its own PRNG).
 */
export async function buildReportParallel(runs: readonly LoadedRun[], options: ParallelReportOptions = {}): Promise<Report> {
  const { workers, minParallelCost, onProgress, ...reportOptions } = options;
  const { report, boot } = prepare(runs, reportOptions);
  boot.fill(
    await runJobs(boot.jobs, {
      ...(workers === undefined ? {} : { workers }),
      ...(minParallelCost === undefined ? {} : { minParallelCost }),
      ...(onProgress ? { onProgress } : {}),
    }),
  );
  return report;
}
