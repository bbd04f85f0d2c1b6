/**
 * The end of an ad-hoc `nebula bench` run, laid out as hyperfine prints a comparison: one block per
 * runtime (median ± MAD of the total time, range, runs, startup and energy), then which runtime was
 * fastest and how many times slower each other one was, with a bootstrap interval and a p-value.
 */
import { join } from 'node:path';
import type { InvocationLine } from '../protocol/results.js';
import { duration, energy, pValue, sig } from '../report/format.js';
import { bootstrapRatioCI, mannWhitneyU } from '../report/stats.js';
import { isMeasured, type GroupSummary } from '../report/summary.js';
import type { RunOutcome } from './recorder.js';
import { formatThresholdValue, thresholdVerdict } from './thresholds.js';

function totals(lines: readonly InvocationLine[], runtime: string): number[] {
  return lines.filter((l) => l.runtime === runtime && isMeasured(l) && l.metrics).map((l) => l.metrics!.total_us);
}

function block(index: number, g: GroupSummary, what: string): string[] {
  const t = g.metrics.total_us;
  const out = [`Benchmark ${index}: ${what} on ${g.runtime}`];
  if (t.n === 0) return [...out, `  no successful run (${g.errors} failed)`];
  out.push(`  Time (median ± MAD):  ${duration(t.median).padStart(9)} ± ${duration(t.mad).padEnd(9)}  startup ${duration(g.metrics.startup_us.median)}`);
  out.push(`  Range (min … max):    ${duration(t.min).padStart(9)} … ${duration(t.max).padEnd(9)}  ${t.n} runs${g.errors ? `, ${g.errors} failed` : ''}`);
  const e = g.metrics.isolated_energy_uwh;
  if (e.n > 0) out.push(`  Energy (run, median): ${energy(g.metrics.energy_uwh.median).padStart(9)}   isolated ${energy(e.median)}`);
  return out;
}

/** Renders the comparison of every runtime of a one-function run; `what` is "NAME INPUT". */
export function renderBenchOutcome(outcome: RunOutcome, what: string, dir: string): string {
  const { lines } = outcome;
  const groups = outcome.summary.groups;
  const out: string[] = [];
  groups.forEach((g, i) => out.push(...block(i + 1, g, what), ''));
  const ran = groups.filter((g) => g.metrics.total_us.n > 0).sort((a, b) => a.metrics.total_us.median - b.metrics.total_us.median);
  const fastest = ran[0];
  if (fastest && ran.length > 1) {
    const base = totals(lines, fastest.runtime);
    out.push('Summary (total time: the server received the call → the function ended)');
    out.push(`  ${what} on ${fastest.runtime} ran`);
    for (const g of ran.slice(1)) {
      const other = totals(lines, g.runtime);
      const r = bootstrapRatioCI(other, base);
      const p = mannWhitneyU(other, base).p;
      out.push(`    ${sig(r.estimate)}× [${sig(r.low)}, ${sig(r.high)}] faster than on ${g.runtime} (95% CI, p ${pValue(p).startsWith('<') ? pValue(p) : `= ${pValue(p)}`})`);
    }
    out.push('');
  }
  for (const r of outcome.thresholds) out.push(`  ${thresholdVerdict(r)} ${r.label} (got ${formatThresholdValue(r)})`);
  out.push(`Run ${outcome.done.status}: ${outcome.done.invocations} invocations, ${outcome.done.failed} failed. Results in ${dir}`);
  out.push(`Details: ${join(dir, 'summary.md')} · nebula report ${dir}`);
  return `${out.join('\n')}\n`;
}
