/**
 * The thesis prototype's record shape (docs/report.md, "Thesis result files"), one record per measured
 * invocation, so its analysis code reads Nebula runs:
 *
 *   {func_name, func_type: "Wasm"|"Docker", input, result, base_image,
 *    metrics: {startup_time, total_runtime, start_since_epoch, end_since_epoch, startup_percentage,
 *              average_power, average_power_isolated, energy_consumption_wh, energy_consumption_isolated_wh}}
 *
 * Times in µs, power in W, energy in Wh, as the thesis wrote them; the energy is the thesis' own:
 * average power over the whole invocation × total_runtime. A line imported from a thesis file writes
 * its record back field for field. The thesis only knew Wasm and Docker: other runtimes are left out
 * (and counted by `thesisRecords`).
 */
import { z } from 'zod';
import type { InvocationLine } from '../../protocol/results.js';
import { isMeasured } from '../summary.js';
import type { ReportContext } from './context.js';

const nullableNumber = z.number().nullable();

/** One record of a thesis result file (its JSON arrays), energy fields optional (absent on the VM). */
export const ThesisRecordSchema = z.object({
  func_name: z.string(),
  func_type: z.enum(['Wasm', 'Docker']),
  // The thesis wrote inputs as strings; a number is read as its text.
  input: z.union([z.string(), z.number().transform(String)]),
  result: z.union([z.string(), z.number().transform(String)]),
  base_image: z.string().nullable().optional(),
  metrics: z.object({
    startup_time: z.number(),
    total_runtime: z.number(),
    start_since_epoch: z.number(),
    end_since_epoch: z.number(),
    startup_percentage: nullableNumber.optional(),
    average_power: nullableNumber.optional(),
    average_power_isolated: nullableNumber.optional(),
    energy_consumption_wh: nullableNumber.optional(),
    energy_consumption_isolated_wh: nullableNumber.optional(),
  }),
});
export type ThesisRecordInput = z.input<typeof ThesisRecordSchema>;

export interface ThesisRecord {
  func_name: string;
  func_type: 'Wasm' | 'Docker';
  input: string;
  result: string;
  base_image: string;
  metrics: {
    startup_time: number;
    total_runtime: number;
    start_since_epoch: number;
    end_since_epoch: number;
    startup_percentage: number;
    average_power: number | null;
    average_power_isolated: number | null;
    energy_consumption_wh: number | null;
    energy_consumption_isolated_wh: number | null;
  };
}

const FUNC_TYPE = { wasm: 'Wasm', docker: 'Docker' } as const;
/** Nebula's images are FROM scratch around the same static binary the native runtime runs. */
const NEBULA_DOCKER_BASE = 'scratch';
/** The thesis' base_image for a Wasm module. */
const NO_IMAGE = 'N/A';

/** Fifteen significant digits: W and Wh converted from µWh print as the thesis printed them (no 1e-21 dust). */
const tidy = (x: number | null): number | null => (x === null ? null : Number(x.toPrecision(15)));

/** Maps one measured wasm/docker line to the thesis shape; undefined for any other line. */
export function toThesisRecord(l: InvocationLine): ThesisRecord | undefined {
  if (!isMeasured(l) || !l.metrics || (l.runtime !== 'wasm' && l.runtime !== 'docker')) return undefined;
  const m = l.metrics;
  const kept = l.thesis;
  let power: Pick<ThesisRecord['metrics'], 'average_power' | 'average_power_isolated' | 'energy_consumption_wh' | 'energy_consumption_isolated_wh'>;
  if (kept) {
    power = {
      average_power: kept.average_power,
      average_power_isolated: kept.average_power_isolated,
      energy_consumption_wh: kept.energy_consumption_wh,
      energy_consumption_isolated_wh: kept.energy_consumption_isolated_wh,
    };
  } else {
    // The thesis' energy: average power over the whole invocation × total_runtime (µs → h: / 3.6e9).
    const e = l.energy_invocation;
    const avg = e?.avg_power_w ?? null;
    const iso = avg !== null && e?.baseline_w != null ? avg - e.baseline_w : null;
    power = {
      average_power: tidy(avg),
      average_power_isolated: tidy(iso),
      energy_consumption_wh: avg === null ? null : tidy((avg * m.total_us) / 3.6e9),
      energy_consumption_isolated_wh: iso === null ? null : tidy((iso * m.total_us) / 3.6e9),
    };
  }
  return {
    func_name: l.function,
    func_type: FUNC_TYPE[l.runtime],
    input: l.input,
    result: l.output,
    base_image: kept?.base_image ?? (l.runtime === 'docker' ? NEBULA_DOCKER_BASE : NO_IMAGE),
    metrics: {
      startup_time: m.startup_us,
      total_runtime: m.total_us,
      start_since_epoch: m.received_us,
      end_since_epoch: m.ended_us,
      // startup / total × 100, rounded, as the thesis computed it.
      startup_percentage: kept?.startup_percentage ?? (m.total_us > 0 ? Math.round((m.startup_us / m.total_us) * 100) : 0),
      ...power,
    },
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
