/**
 * CSV exporter: tidy data, one row per invocation (warm-ups and failures included and flagged, so
 * pandas/R users filter them themselves), RFC 4180 quoting, CRLF line ends.
 */
import type { InvocationLine } from '../../protocol/results.js';
import type { ReportContext } from './context.js';

export const CSV_COLUMNS = [
  'target', 'run_id', 'seq', 'function', 'runtime', 'input', 'rep', 'warmup', 'ok', 'exit_code', 'start_source',
  'received_us', 'ready_us', 'started_us', 'finished_us', 'ended_us', 'startup_us', 'exec_us', 'teardown_us', 'total_us',
  'energy_method', 'energy_samples', 'avg_power_w', 'energy_uwh', 'baseline_w', 'isolated_energy_uwh', 'energy_note',
  // The run window's bound and measurability, then the whole invocation's energy (docs/energy.md, "Windows").
  'energy_uncertainty_uwh', 'isolated_energy_uncertainty_uwh', 'energy_measurable',
  'invocation_energy_uwh', 'invocation_energy_uncertainty_uwh', 'invocation_isolated_energy_uwh', 'invocation_energy_measurable',
  'clock_offset_us', 'clock_uncertainty_us', 'error', 'output',
] as const;

/** Quotes a field per RFC 4180 when it holds a comma, quote, CR or LF (quotes doubled). */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function cells(target: string, l: InvocationLine): (string | number | boolean | null | undefined)[] {
  const m = l.metrics;
  const e = l.energy;
  const w = l.energy_invocation;
  return [
    target, l.run_id, l.seq, l.function, l.runtime, l.input, l.rep, l.warmup, l.ok, l.exit_code, l.start_source,
    m?.received_us, m?.ready_us, m?.started_us, m?.finished_us, m?.ended_us, m?.startup_us, m?.exec_us, m?.teardown_us, m?.total_us,
    e?.method, e?.samples, e?.avg_power_w, e?.energy_uwh, e?.baseline_w, e?.isolated_energy_uwh, e?.note,
    e?.uncertainty_uwh, e?.isolated_uncertainty_uwh, e?.measurable,
    w?.energy_uwh, w?.uncertainty_uwh, w?.isolated_energy_uwh, w?.measurable,
    l.clock?.offset_us, l.clock?.uncertainty_us, l.error ?? l.request_error?.message, l.output,
  ];
}

/** Serializes every invocation of every run as CSV. */
export function serialize({ runs }: ReportContext): string {
  const out = [CSV_COLUMNS.join(',')];
  for (const run of runs) for (const l of run.invocations) out.push(cells(run.label, l).map(csvField).join(','));
  return out.join('\r\n') + '\r\n';
}
