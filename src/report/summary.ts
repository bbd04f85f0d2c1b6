/**
 * The per-run summary (summary.json / summary.md): per function × runtime, how many invocations were
 * measured, failed or discarded as warm-up, and the distribution of each metric. The console calls
 * `summarize` at the end of a run (and on Ctrl-C); `nebula report` builds its comparison on top.
 */
import type { Runtime } from '../protocol/api.js';
import { outcomeOf, type Energy, type InvocationLine } from '../protocol/results.js';
import { duration, energy } from './format.js';
import { predecessorWarnings, startupByPredecessor } from './predecessor.js';
import { describe, type Describe } from './stats.js';

/**
 * The per-invocation figures a report is made of. Times in µs, energies in µWh. Energies come in two
 * windows (docs/energy.md, "Windows"): `energy_uwh` / `isolated_energy_uwh` over the function's own
 * run (started → finished), `invocation_*` over the whole invocation (received → replied, the thesis' window).
 */
export const METRICS = ['startup_us', 'exec_us', 'teardown_us', 'total_us', 'energy_uwh', 'isolated_energy_uwh', 'invocation_energy_uwh', 'invocation_isolated_energy_uwh'] as const;
export type Metric = (typeof METRICS)[number];
export const ENERGY_METRICS = ['energy_uwh', 'isolated_energy_uwh', 'invocation_energy_uwh', 'invocation_isolated_energy_uwh'] as const;
export type EnergyMetric = (typeof ENERGY_METRICS)[number];

/** Human names of the metrics, for table headers: every energy names its window. */
export const METRIC_LABEL: Record<Metric, string> = {
  startup_us: 'startup',
  exec_us: 'exec',
  teardown_us: 'teardown',
  total_us: 'total',
  energy_uwh: 'energy (run)',
  isolated_energy_uwh: 'isolated energy (run)',
  invocation_energy_uwh: 'energy (invocation)',
  invocation_isolated_energy_uwh: 'isolated energy (invocation)',
};

/** Short names for narrow (80-column) tables. */
export const METRIC_SHORT: Record<Metric, string> = {
  startup_us: 'startup',
  exec_us: 'exec',
  teardown_us: 'teardown',
  total_us: 'total',
  energy_uwh: 'E (run)',
  isolated_energy_uwh: 'iso. E (run)',
  invocation_energy_uwh: 'E (inv.)',
  invocation_isolated_energy_uwh: 'iso. E (inv.)',
};

/** Whether a metric is a time (µs) or an energy (µWh). */
export function isEnergy(metric: Metric): metric is EnergyMetric {
  return (ENERGY_METRICS as readonly string[]).includes(metric);
}

/** Whether an energy metric is an isolated one (above the idle baseline). */
export function isIsolated(metric: EnergyMetric): boolean {
  return metric === 'isolated_energy_uwh' || metric === 'invocation_isolated_energy_uwh';
}

/** The energy figure of a line an energy metric reads (run window or invocation window). */
export function energyOf(line: InvocationLine, metric: EnergyMetric): Energy | null | undefined {
  return metric === 'energy_uwh' || metric === 'isolated_energy_uwh' ? line.energy : line.energy_invocation;
}

/** Formats a value of `metric` in its unit. */
export function formatMetric(metric: Metric, value: number): string {
  return isEnergy(metric) ? energy(value) : duration(value);
}

/** The value of `metric` for one line, or undefined when it has none (failed, no meter, empty window). */
export function metricValue(line: InvocationLine, metric: Metric): number | undefined {
  switch (metric) {
    case 'startup_us':
    case 'exec_us':
    case 'teardown_us':
    case 'total_us':
      return line.metrics?.[metric];
    default: {
      const e = energyOf(line, metric);
      const v = isIsolated(metric) ? e?.isolated_energy_uwh : e?.energy_uwh;
      return v === null || v === undefined ? undefined : v;
    }
  }
}

/** A line counts as measured when it is not a warm-up, succeeded and carries server metrics. */
export function isMeasured(line: InvocationLine): boolean {
  return !line.warmup && line.ok && line.metrics !== null;
}

/** Counts of what was kept and what was excluded from the statistics. */
export interface Counts {
  /** Lines in the file for this group. */
  invocations: number;
  /** Successful, non-warm-up invocations: the statistics are over these. */
  measured: number;
  /** Warm-up invocations, excluded (whether they succeeded or not). */
  warmups: number;
  /** Non-warm-up invocations that failed (function error, timeout, request error), excluded. */
  errors: number;
  /** Under open-loop load: requests never sent because load.max_in_flight were in flight (present when > 0). */
  dropped?: number;
}

/** Statistics of one function × runtime (optionally one input). */
export interface GroupSummary extends Counts {
  function: string;
  runtime: Runtime;
  /** Present for prewarmed invocations (docs/methodology.md, "Start modes"); absent: cold. */
  mode?: 'prewarmed';
  /** With mode prewarmed: measured invocations that found an instance prepared ahead. */
  prepared?: number;
  /** One entry per metric; energy entries have n = 0 when the run had no meter. */
  metrics: Record<Metric, Describe>;
  /** Measured invocations whose energy window was flagged (e.g. shorter than the sampling interval). */
  energy_notes: number;
  /** Per energy metric, how many of the measured values can be trusted (absent without a meter). */
  energy_flags?: Partial<Record<EnergyMetric, EnergyFlags>>;
}

/** How many energies of one metric are usable: the rest are missing, too short to measure, or negative. */
export interface EnergyFlags {
  /** Measured invocations. */
  measured: number;
  /** …with a value. */
  values: number;
  /** Values from a window shorter than the meter can resolve alone (measurable: false). */
  not_measurable: number;
  /** Isolated values below zero (idle power above the invocation's: noise or drift). */
  negative: number;
}

/** Whether an energy's window was too short for the meter (files from before `measurable` carry it in the note). */
export function isTooShort(e: Energy | null | undefined): boolean {
  if (!e) return false;
  return e.measurable === undefined ? /shorter than the (meter's )?sampling interval/.test(e.note ?? '') : !e.measurable;
}

/** Share of the values that are flagged or negative (0 without values). */
export function unusableShare(f: EnergyFlags): number {
  return f.values === 0 ? 0 : (f.not_measurable + f.negative) / f.values;
}

/** Counts the usable and flagged energies of `metric` over the measured lines. */
export function energyFlags(lines: readonly InvocationLine[], metric: EnergyMetric): EnergyFlags {
  const flags: EnergyFlags = { measured: 0, values: 0, not_measurable: 0, negative: 0 };
  for (const l of lines) {
    if (!isMeasured(l)) continue;
    flags.measured++;
    const v = metricValue(l, metric);
    if (v === undefined) continue;
    flags.values++;
    const e = energyOf(l, metric);
    // Count a value once: a too-short window first, else a negative isolated value.
    if (isTooShort(e)) flags.not_measurable++;
    else if (isIsolated(metric) && v < 0) flags.negative++;
  }
  return flags;
}

/** energyFlags of every energy metric that has values. */
export function allEnergyFlags(lines: readonly InvocationLine[]): Partial<Record<EnergyMetric, EnergyFlags>> | undefined {
  const out: Partial<Record<EnergyMetric, EnergyFlags>> = {};
  for (const m of ENERGY_METRICS) {
    const f = energyFlags(lines, m);
    if (f.values > 0) out[m] = f;
  }
  return Object.keys(out).length ? out : undefined;
}

export interface Summary {
  run_id: string | null;
  totals: Counts;
  groups: GroupSummary[];
  /** Energy caveats of the whole run (baseline drift), one line each. */
  caveats?: string[];
  /** Start-up that differed significantly by the runtime invoked before (report/predecessor.ts), one line each. */
  interference?: string[];
}

export interface SummarizeOptions {
  /** Run id to record (default: the first line's run_id). */
  runId?: string;
}

/** Counts warm-ups, errors and measured invocations of `lines`. */
export function countLines(lines: readonly InvocationLine[]): Counts {
  let warmups = 0;
  let errors = 0;
  let measured = 0;
  let dropped = 0;
  for (const l of lines) {
    if (l.warmup) warmups++;
    else if (isMeasured(l)) measured++;
    else if (outcomeOf(l) === 'dropped') dropped++;
    else errors++;
  }
  return { invocations: lines.length, measured, warmups, errors, ...(dropped ? { dropped } : {}) };
}

/** Distribution of every metric over the measured lines. */
export function describeMetrics(lines: readonly InvocationLine[]): Record<Metric, Describe> {
  const measured = lines.filter(isMeasured);
  const out = {} as Record<Metric, Describe>;
  for (const m of METRICS) {
    const values: number[] = [];
    for (const l of measured) {
      const v = metricValue(l, m);
      if (v !== undefined) values.push(v);
    }
    out[m] = describe(values);
  }
  return out;
}

/** Groups lines by a key, keeping first-seen order (the suite's order). */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

/** Builds the per function × runtime summary of a run's invocation lines. */
export function summarize(lines: readonly InvocationLine[], options: SummarizeOptions = {}): Summary {
  const groups: GroupSummary[] = [];
  // Cold and prewarmed invocations of a runtime are separate groups: their start-ups are different things.
  for (const group of groupBy(lines, (l) => `${l.function}\u0000${l.runtime}\u0000${l.mode ?? 'cold'}`).values()) {
    const first = group[0] as InvocationLine;
    const prewarmed = first.mode === 'prewarmed';
    groups.push({
      function: first.function,
      runtime: first.runtime,
      ...(prewarmed ? { mode: 'prewarmed' as const, prepared: group.filter((l) => isMeasured(l) && l.prepared === true).length } : {}),
      ...countLines(group),
      metrics: describeMetrics(group),
      energy_notes: group.filter((l) => isMeasured(l) && l.energy?.note).length,
      ...((flags) => (flags ? { energy_flags: flags } : {}))(allEnergyFlags(group)),
    });
  }
  const interference = predecessorWarnings(startupByPredecessor(lines.filter((l) => l.mode !== 'prewarmed')));
  return { run_id: options.runId ?? lines[0]?.run_id ?? null, totals: countLines(lines), groups, ...(interference.length ? { interference } : {}) };
}

/** Renders a Summary as a Markdown table (summary.md). */
export function renderSummaryMarkdown(summary: Summary): string {
  const t = summary.totals;
  const out: string[] = [];
  out.push(`# Run summary${summary.run_id ? ` — ${summary.run_id}` : ''}`, '');
  out.push(
    `${t.invocations} invocations: ${t.measured} measured, ${t.warmups} warm-up (excluded), ${t.errors} failed (excluded)${t.dropped ? `, ${t.dropped} dropped (not sent: load.max_in_flight was reached)` : ''}.`,
    '',
  );
  if (summary.groups.length === 0) {
    out.push('No invocations were recorded.', '');
    return out.join('\n');
  }
  const hasEnergy = summary.groups.some((g) => g.metrics.energy_uwh.n > 0);
  const head = ['function', 'runtime', 'n', 'errors', 'warm-up', 'startup p50', 'startup p95', 'exec p50', 'teardown p50', 'total p50', 'total p95'];
  if (hasEnergy) head.push('energy (run) p50', 'isolated (run) p50', 'isolated (invocation) p50', 'flagged');
  if (t.dropped) head.push('dropped');
  out.push(`| ${head.join(' | ')} |`, `| ${head.map((h, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const g of summary.groups) {
    const m = g.metrics;
    const row = [
      g.function,
      g.mode ? `${g.runtime} prewarmed (${g.prepared ?? 0} prepared)` : g.runtime,
      String(g.measured),
      String(g.errors),
      String(g.warmups),
      duration(m.startup_us.median),
      duration(m.startup_us.p95),
      duration(m.exec_us.median),
      duration(m.teardown_us.median),
      duration(m.total_us.median),
      duration(m.total_us.p95),
    ];
    if (hasEnergy) row.push(energy(m.energy_uwh.median), energy(m.isolated_energy_uwh.median), energy(m.invocation_isolated_energy_uwh.median), flaggedCell(g));
    if (t.dropped) row.push(String(g.dropped ?? 0));
    out.push(`| ${row.join(' | ')} |`);
  }
  out.push('');
  if (hasEnergy) {
    out.push(
      'Energy windows: *run* = the function\'s own run (started → finished); *invocation* = request received → reply (the thesis\' window). *flagged*: isolated (run) energies too short for the meter to measure alone / below zero, of those with a value (docs/energy.md).',
      '',
    );
  }
  for (const c of summary.caveats ?? []) out.push(`> **Caveat:** ${c}`, '');
  for (const w of summary.interference ?? []) out.push(`> **Warning:** ${w}`, '');
  return out.join('\n');
}

/** "12 short, 3 < 0 of 40" for the run window's isolated energy ("0 of 40" when none is flagged). */
export function flaggedCell(g: GroupSummary): string {
  const f = g.energy_flags?.isolated_energy_uwh;
  if (!f) return '—';
  const parts: string[] = [];
  if (f.not_measurable) parts.push(`${f.not_measurable} short`);
  if (f.negative) parts.push(`${f.negative} < 0`);
  return `${parts.length ? parts.join(', ') : '0'} of ${f.values}`;
}
