/**
 * The thesis prototype's record shape (docs/report.md, FunctionResult plus its analysis fields), one
 * record per measured invocation, so its notebooks can read Nebula runs. The thesis only knew Wasm and
 * Docker: other runtimes are left out (and counted by `thesisRecords`).
 */
import type { FunctionResult } from '../../protocol/api.js';
import type { InvocationLine } from '../../protocol/results.js';
import { isMeasured } from '../summary.js';
import type { ReportContext } from './context.js';

export type ThesisRecord = FunctionResult & {
  startup_percentage: number;
  base_image: string | null;
  average_power: number | null;
  average_power_isolated: number | null;
  energy_consumption_wh: number | null;
  energy_consumption_isolated_wh: number | null;
};

const FUNC_TYPE = { wasm: 'Wasm', docker: 'Docker' } as const;

/** Maps one measured wasm/docker line to the thesis shape; undefined for any other line. */
export function toThesisRecord(l: InvocationLine): ThesisRecord | undefined {
  if (!isMeasured(l) || !l.metrics || (l.runtime !== 'wasm' && l.runtime !== 'docker')) return undefined;
  const m = l.metrics;
  const e = l.energy;
  const avg = e?.avg_power_w ?? null;
  return {
    func_name: l.function,
    func_type: FUNC_TYPE[l.runtime],
    input: l.input,
    result: l.output,
    metrics: { startup_time: m.startup_us, total_runtime: m.total_us, start_since_epoch: m.received_us, end_since_epoch: m.ended_us },
    startup_percentage: m.total_us > 0 ? (m.startup_us / m.total_us) * 100 : 0,
    // Nebula's images are FROM scratch around the same static binary the native runtime runs.
    base_image: l.runtime === 'docker' ? 'scratch' : null,
    average_power: avg,
    average_power_isolated: avg !== null && e?.baseline_w != null ? avg - e.baseline_w : null,
    energy_consumption_wh: e?.energy_uwh != null ? e.energy_uwh / 1e6 : null,
    energy_consumption_isolated_wh: e?.isolated_energy_uwh != null ? e.isolated_energy_uwh / 1e6 : null,
  };
}

/** The thesis records of the runs, and how many measured lines had another runtime. */
export function thesisRecords(runs: ReportContext['runs']): { records: ThesisRecord[]; skipped: number } {
  const records: ThesisRecord[] = [];
  let skipped = 0;
  for (const run of runs) {
    for (const l of run.invocations) {
      const r = toThesisRecord(l);
      if (r) records.push(r);
      else if (isMeasured(l)) skipped++;
    }
  }
  return { records, skipped };
}

/** Serializes the measured wasm and docker invocations as a JSON array of thesis records. */
export function serialize({ runs }: ReportContext): string {
  return JSON.stringify(thesisRecords(runs).records, null, 1) + '\n';
}
