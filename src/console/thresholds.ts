/**
 * k6-style thresholds: each is checked against the run's measured invocations at the end; any miss
 * fails the run with exit 1 and is printed. A threshold with no data to judge counts as missed —
 * a pass must mean the condition was shown to hold.
 */
import type { InvocationLine } from '../protocol/results.js';
import { isMeasured, metricValue } from '../report/summary.js';
import { max, mean, min, quantile } from '../report/stats.js';
import type { Metric, Stat, Threshold } from './suite-schema.js';

export interface ThresholdResult {
  threshold: Threshold;
  /** The human form, e.g. "p50 startup_us[wasm] below 5000". */
  label: string;
  value: number | null;
  passed: boolean;
  /**
   * False when the run did not complete (interrupted or failed): a partial run proves nothing either
   * way, so the threshold is reported as not judged and never counts as passed.
   */
  judged: boolean;
  /** Why it could not be judged (no data, run interrupted). */
  note: string | null;
}

function statOf(values: readonly number[], stat: Stat): number {
  switch (stat) {
    case 'mean':
      return mean(values);
    case 'min':
      return min(values);
    case 'max':
      return max(values);
    default:
      return quantile(values, Number(stat.slice(1)) / 100);
  }
}

/** The value of `metric` (a stat of it; error_rate is a rate) over the lines selected. */
function measure(lines: readonly InvocationLine[], metric: Metric, stat: Stat): number | null {
  const relevant = lines.filter((l) => !l.warmup);
  if (metric === 'error_rate') {
    return relevant.length ? relevant.filter((l) => !isMeasured(l)).length / relevant.length : null;
  }
  const values: number[] = [];
  for (const line of relevant) {
    if (!isMeasured(line)) continue;
    const v = metric === 'avg_power_w' ? (line.energy?.avg_power_w ?? undefined) : metricValue(line, metric);
    if (v !== undefined && Number.isFinite(v)) values.push(v);
  }
  return values.length ? statOf(values, stat) : null;
}

/** The human form of a threshold, e.g. "p50 startup_us[wasm] below 5000". */
export function thresholdLabel(t: Threshold): string {
  const scope = `${t.function ? ` ${t.function}` : ''}${t.mode ? ` (${t.mode})` : ''}`;
  const bounds = [t.below !== undefined ? `below ${t.below}` : '', t.above !== undefined ? `above ${t.above}` : ''].filter(Boolean).join(' and ');
  if (t.ratio !== undefined) return `${t.stat} ${t.ratio}${scope} ${t.of}/${t.over} ${bounds}`;
  const metric = t.metric as Metric;
  return `${metric === 'error_rate' ? '' : `${t.stat} `}${metric}${scope}${t.runtime ? `[${t.runtime}]` : ''} ${bounds}`;
}

/** Evaluates every threshold against the invocation lines of a run. */
export function evaluateThresholds(thresholds: readonly Threshold[], lines: readonly InvocationLine[]): ThresholdResult[] {
  const hasCold = lines.some((l) => (l.mode ?? 'cold') === 'cold');
  return thresholds.map((t) => {
    // One start mode is judged: the threshold's `mode`, else cold when the run has cold invocations.
    const mode = t.mode ?? (hasCold ? 'cold' : undefined);
    const pick = (runtime: string | undefined): InvocationLine[] =>
      lines.filter(
        (l) =>
          (runtime === undefined || l.runtime === runtime) && (t.function === undefined || l.function === t.function) && (mode === undefined || (l.mode ?? 'cold') === mode),
      );
    let value: number | null;
    if (t.ratio !== undefined) {
      const of = measure(pick(t.of), t.ratio, t.stat);
      const over = measure(pick(t.over), t.ratio, t.stat);
      value = of !== null && over !== null && over !== 0 ? of / over : null;
    } else {
      value = measure(pick(t.runtime), t.metric as Metric, t.stat);
    }
    const label = thresholdLabel(t);
    if (value === null || !Number.isFinite(value)) {
      return { threshold: t, label, value: null, passed: false, judged: true, note: 'no measured invocations to judge' };
    }
    const passed = (t.below === undefined || value < t.below) && (t.above === undefined || value > t.above);
    return { threshold: t, label, value, passed, judged: true, note: null };
  });
}

/** The thresholds of a run that did not complete: values shown for information, none judged. */
export function withholdThresholds(results: readonly ThresholdResult[], status: string): ThresholdResult[] {
  return results.map((r) => ({ ...r, passed: false, judged: false, note: `not judged: the run ${status}` }));
}

/** The sign of each verdict in Markdown lists (summary.md, the report). */
export const THRESHOLD_MARK = { ok: '✓', FAILED: '✗', 'not judged': '–' } as const;

/** One word per result, for summary.md and the console: ok, FAILED or "not judged". */
export function thresholdVerdict(t: ThresholdResult): 'ok' | 'FAILED' | 'not judged' {
  if (!t.judged) return 'not judged';
  return t.passed ? 'ok' : 'FAILED';
}

/** A result's value as printed in summary.md and by the console ("0.00", "4312"), or why there is none. */
export function formatThresholdValue(t: ThresholdResult): string {
  if (t.value === null) return t.note ?? 'no value';
  if (!t.judged) return `${formatNumber(t.value)}, ${t.note ?? 'not judged'}`;
  return formatNumber(t.value);
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}
