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
  /** Why it could not be judged (no data). */
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

/** Evaluates every threshold against the invocation lines of a run. */
export function evaluateThresholds(thresholds: readonly Threshold[], lines: readonly InvocationLine[]): ThresholdResult[] {
  return thresholds.map((t) => {
    const pick = (runtime: string | undefined): InvocationLine[] =>
      lines.filter((l) => (runtime === undefined || l.runtime === runtime) && (t.function === undefined || l.function === t.function));
    let value: number | null;
    let label: string;
    const scope = t.function ? ` ${t.function}` : '';
    if (t.ratio !== undefined) {
      const of = measure(pick(t.of), t.ratio, t.stat);
      const over = measure(pick(t.over), t.ratio, t.stat);
      value = of !== null && over !== null && over !== 0 ? of / over : null;
      label = `${t.stat} ${t.ratio}${scope} ${t.of}/${t.over}`;
    } else {
      const metric = t.metric as Metric;
      value = measure(pick(t.runtime), metric, t.stat);
      label = `${metric === 'error_rate' ? '' : `${t.stat} `}${metric}${scope}${t.runtime ? `[${t.runtime}]` : ''}`;
    }
    const bounds = [t.below !== undefined ? `below ${t.below}` : '', t.above !== undefined ? `above ${t.above}` : ''].filter(Boolean).join(' and ');
    label = `${label} ${bounds}`;
    if (value === null || !Number.isFinite(value)) {
      return { threshold: t, label, value: null, passed: false, note: 'no measured invocations to judge' };
    }
    const passed = (t.below === undefined || value < t.below) && (t.above === undefined || value > t.above);
    return { threshold: t, label, value, passed, note: null };
  });
}

/** A result's value as printed in summary.md and by the console ("0.00", "4312"), or why there is none. */
export function formatThresholdValue(t: ThresholdResult): string {
  if (t.value === null) return t.note ?? 'no value';
  return Math.abs(t.value) >= 100 ? t.value.toFixed(0) : t.value.toPrecision(3);
}
