/**
 * The end of a run as printed on the terminal: within 80 columns, so it never wraps mid-row — a row
 * per function × runtime with the three figures people look at first (median startup, median total,
 * median isolated energy of the function's run), the threshold verdicts and where the files are. Everything else (p95,
 * exec time, warm-ups, energy totals) is in summary.md, which the last line names.
 */
import { join } from 'node:path';
import { duration, energy } from '../report/format.js';
import type { Summary } from '../report/summary.js';
import type { RunOutcome } from './recorder.js';
import { formatThresholdValue, thresholdVerdict } from './thresholds.js';

/** The widest line this renders (threshold labels and paths aside, which are the user's). */
export const TERMINAL_WIDTH = 80;

/** The per function × runtime table: function names on their own line, runtimes indented below. */
export function renderSummaryTable(summary: Summary): string[] {
  if (summary.groups.length === 0) return ['No invocations were recorded.'];
  const hasEnergy = summary.groups.some((g) => g.metrics.isolated_energy_uwh.n > 0);
  const head = `${''.padEnd(22)}${'n'.padStart(6)}${'failed'.padStart(8)}${'startup p50'.padStart(14)}${'total p50'.padStart(12)}${
    hasEnergy ? 'iso. E (run)'.padStart(14) : ''
  }`;
  const out = [head];
  let fn = '';
  for (const g of summary.groups) {
    if (g.function !== fn) {
      fn = g.function;
      out.push(fn);
    }
    const m = g.metrics;
    out.push(
      `  ${(g.mode ? `${g.runtime} prewarmed` : g.runtime).padEnd(20)}${String(g.measured).padStart(6)}${String(g.errors).padStart(8)}${duration(m.startup_us.median).padStart(14)}${duration(
        m.total_us.median,
      ).padStart(12)}${hasEnergy ? energy(m.isolated_energy_uwh.median).padStart(14) : ''}`,
    );
  }
  return out;
}

/** Breaks text at spaces into lines of at most `width` columns, continuation lines indented. */
export function wrapWords(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    const next = current ? `${current} ${word}` : word;
    if (next.length > width && current) {
      lines.push(current);
      current = `${indent}${word}`;
    } else current = next;
  }
  if (current) lines.push(current);
  return lines;
}

/** The end of a run for stdout: the table, the thresholds, the outcome and where the files are. */
export function renderOutcome(outcome: RunOutcome, dir: string): string {
  const t = outcome.summary.totals;
  const out = [
    `${t.invocations} invocations: ${t.measured} measured, ${t.warmups} warm-up, ${t.errors} failed (medians of the measured):`,
    '',
    ...renderSummaryTable(outcome.summary),
    '',
  ];
  for (const c of outcome.summary.caveats ?? []) out.push(...wrapWords(`Caveat: ${c}`, TERMINAL_WIDTH, '  '), '');
  for (const w of outcome.summary.interference ?? []) out.push(`Warning: ${w}`, '');
  if (outcome.thresholds.length) {
    out.push('Thresholds:');
    for (const r of outcome.thresholds) out.push(`  ${thresholdVerdict(r).padEnd(6)} ${r.label} (got ${formatThresholdValue(r)})`);
    out.push('');
  }
  out.push(`Run ${outcome.done.status}: ${outcome.done.invocations} invocations, ${outcome.done.failed} failed. Results in ${dir}`);
  out.push(`Details (p95, exec time, energy, warm-ups): ${join(dir, 'summary.md')}`);
  return `${out.join('\n')}\n`;
}
