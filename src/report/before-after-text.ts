/**
 * The text of `nebula report --compare BASE NEW`: one table per metric, a row per function × runtime
 * with both medians, the change with its interval, the p-value and a verdict — benchstat's layout,
 * kept within 80 columns (function names get their own line).
 */
import { pValue, sig } from './format.js';
import type { MetricChange } from './before-after.js';
import { formatMetric, METRIC_SHORT, METRICS } from './summary.js';

export interface ChangeLabels {
  base: string;
  next: string;
  /** --fail-above as a fraction, when given: rows beyond it are marked. */
  failAbove?: number | undefined;
}

function percent(x: number): string {
  if (!Number.isFinite(x)) return '—';
  return `${x >= 0 ? '+' : '−'}${sig(Math.abs(x) * 100, 3)}%`;
}

/** "+18.6% [+12.1%, +25%]". */
function changeText(c: MetricChange): string {
  return `${percent(c.change.estimate)} [${percent(c.change.low)}, ${percent(c.change.high)}]`;
}

/** "~" (no significant change), "worse" or "better"; "FAIL" beyond --fail-above. */
export function verdict(c: MetricChange, failAbove?: number): string {
  if (!c.significant) return '~';
  if (c.change.estimate > 0) return failAbove !== undefined && c.change.estimate > failAbove ? 'FAIL' : 'worse';
  return 'better';
}

/** Renders the comparison; an empty list says there was nothing in common to compare. */
export function renderChanges(changes: readonly MetricChange[], labels: ChangeLabels): string {
  const out = [`BASE ${labels.base}`, `NEW  ${labels.next}`, ''];
  if (changes.length === 0) {
    out.push('No function × runtime was measured in both runs: nothing to compare.');
    return `${out.join('\n')}\n`;
  }
  const level = Math.round((changes[0]?.change.level ?? 0.95) * 100);
  for (const metric of METRICS) {
    const rows = changes.filter((c) => c.metric === metric);
    if (rows.length === 0) continue;
    out.push(`${`${METRIC_SHORT[metric]} (median)`.padEnd(16)}${'BASE'.padStart(9)}${'NEW'.padStart(9)}  ${`change [${level}% CI]`.padEnd(27)}${'p'.padStart(8)}`);
    let fn = '';
    for (const c of rows) {
      if (c.function !== fn) {
        fn = c.function;
        out.push(fn);
      }
      out.push(
        `  ${(c.mode ? `${c.runtime} pw` : c.runtime).padEnd(14)}${formatMetric(metric, c.base.median).padStart(9)}${formatMetric(metric, c.next.median).padStart(9)}  ${changeText(c).padEnd(27)}${pValue(c.p).padStart(8)} ${verdict(c, labels.failAbove)}`,
      );
    }
    out.push('');
  }
  out.push(`~ no significant change (p ≥ 0.05 or the interval includes 0); n per row: ${nRange(changes)}.`);
  return `${out.join('\n')}\n`;
}

function nRange(changes: readonly MetricChange[]): string {
  const ns = changes.flatMap((c) => [c.base.n, c.next.n]);
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}
