/**
 * Before/after comparison of two runs (`nebula report --compare BASE NEW`), as benchstat does for Go
 * benchmarks: per function × runtime × metric, the change of the median from BASE to NEW with a
 * bootstrap confidence interval and a Mann–Whitney U p-value. Pure: lines in, changes out.
 *
 * A change is significant when p < alpha AND its interval excludes 0 — the test and the interval
 * must agree, so a tiny-sample fluke that passes one does not count. Every metric here is
 * "lower is better" (time, energy), so a significant increase is a regression.
 */
import type { Runtime } from '../protocol/api.js';
import type { InvocationLine } from '../protocol/results.js';
import { bootstrapRatioCI, mannWhitneyU, median, type Interval } from './stats.js';
import { values } from './compare.js';
import { groupBy, METRICS, type Metric } from './summary.js';

export interface ChangeOptions {
  /** Significance level of the test (default 0.05). */
  alpha?: number;
  /** Confidence level of the interval (default 0.95). */
  level?: number;
  resamples?: number;
  seed?: number;
}

export interface MetricChange {
  function: string;
  runtime: Runtime;
  /** Prewarmed calls are compared with prewarmed ones (docs/methodology.md, "Start modes"); absent: cold. */
  mode?: 'prewarmed';
  metric: Metric;
  base: { n: number; median: number };
  next: { n: number; median: number };
  /** median(NEW) / median(BASE) − 1, with its bootstrap interval (0.1 = 10 % higher in NEW). */
  change: Interval;
  /** Two-sided Mann–Whitney U p-value of NEW against BASE. */
  p: number;
  significant: boolean;
}

const key = (l: InvocationLine): string => `${l.function}\u0000${l.runtime}\u0000${l.mode ?? 'cold'}`;

/**
 * Every function × runtime × metric measured in both runs. Inputs are pooled per function: two runs
 * of the same suite have the same mix of inputs, so the pooled medians compare like with like.
 */
export function compareBeforeAfter(base: readonly InvocationLine[], next: readonly InvocationLine[], options: ChangeOptions = {}): MetricChange[] {
  const { alpha = 0.05, level = 0.95, resamples = 2000, seed = 1 } = options;
  const before = groupBy(base, key);
  const changes: MetricChange[] = [];
  for (const [k, after] of groupBy(next, key)) {
    const earlier = before.get(k);
    const first = after[0];
    if (!earlier || !first) continue;
    for (const metric of METRICS) {
      const a = values(earlier, metric);
      const b = values(after, metric);
      if (a.length === 0 || b.length === 0) continue;
      const ratio = bootstrapRatioCI(b, a, { resamples, level, seed });
      const change: Interval = { estimate: ratio.estimate - 1, low: ratio.low - 1, high: ratio.high - 1, level };
      const p = mannWhitneyU(b, a).p;
      const excludesZero = change.low > 0 || change.high < 0;
      changes.push({
        function: first.function,
        runtime: first.runtime,
        ...(first.mode === 'prewarmed' ? { mode: 'prewarmed' as const } : {}),
        metric,
        base: { n: a.length, median: median(a) },
        next: { n: b.length, median: median(b) },
        change,
        p,
        significant: Number.isFinite(p) && p < alpha && excludesZero,
      });
    }
  }
  return changes;
}

/** The significant increases above `failAbove` (a fraction: 0.1 = 10 %), which fail `--fail-above`. */
export function regressions(changes: readonly MetricChange[], failAbove: number): MetricChange[] {
  return changes.filter((c) => c.significant && c.change.estimate > failAbove);
}
