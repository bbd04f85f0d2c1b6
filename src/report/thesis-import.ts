/**
 * Reads a result file of the thesis prototype (docs/report.md, "Thesis result files") as a run of its
 * own: a JSON array of FunctionResult records, `func_type` Wasm/Docker, times in µs, energy in Wh
 * inside `metrics`. Each record becomes a measured invocation line; its energy — the thesis' average
 * power over the whole invocation × total_runtime — is an invocation-window energy by the thesis
 * method. What the file cannot say is a warning: no run-window energy, no clock offset between the
 * Pi's stamps and the meter's, no failed or warm-up calls, and the share of calls without energy (the
 * thesis dropped windows without a sample inside or at/below idle power — a bias towards long calls).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Energy, InvocationLine } from '../protocol/results.js';
import { ThesisRecordSchema } from './export/thesis.js';
import type { LoadedRun, RunWarning } from './load.js';

const RUNTIME = { Wasm: 'wasm', Docker: 'docker' } as const;
/** µWh per Wh. */
const UWH_PER_WH = 1e6;

/** Whether a parsed JSON value looks like thesis records (an array whose first element has func_name and func_type). */
export function looksLikeThesis(value: unknown): boolean {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'object' && first !== null && 'func_name' in first && 'func_type' in first;
}

/** Loads a thesis result file; throws UsageError when it is not one (naming what is wrong). */
export async function loadThesisFile(file: string): Promise<LoadedRun> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file}: not readable as JSON (${(error as Error).message})`, {
      hint: 'nebula report takes run directories and the thesis prototype\'s result files (JSON arrays of FunctionResult records)',
    });
  }
  if (!Array.isArray(value) || (value.length > 0 && !looksLikeThesis(value))) {
    throw new UsageError(`${file} is not a thesis result file: expected a JSON array of FunctionResult records ({func_name, func_type, input, result, metrics})`, {
      hint: 'pass a run directory written by `nebula console`, or one of the thesis\' benchmarking result files',
    });
  }
  const name = path.basename(file);
  const warnings: RunWarning[] = [];
  const runId = `thesis:${name}`;
  const invocations: InvocationLine[] = [];
  const reps = new Map<string, number>();
  value.forEach((raw, index) => {
    const parsed = ThesisRecordSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.');
      warnings.push({ file: name, message: `record ${index} does not match the FunctionResult format (${field ? `field "${field}": ` : ''}${issue?.message ?? 'invalid'}); skipped` });
      return;
    }
    const r = parsed.data;
    const m = r.metrics;
    const runtime = RUNTIME[r.func_type];
    const key = `${r.func_name}\u0000${runtime}\u0000${r.input}`;
    const rep = reps.get(key) ?? 0;
    reps.set(key, rep + 1);
    const received = m.start_since_epoch;
    const started = received + m.startup_time;
    const ended = m.end_since_epoch;
    invocations.push({
      function: r.func_name,
      runtime,
      input: r.input,
      output: r.result,
      ok: true,
      exit_code: 0,
      // The thesis' Docker functions printed their own start; for Wasm the host took it.
      start_source: runtime === 'docker' ? 'function' : 'host',
      metrics: {
        received_us: received,
        ready_us: received,
        started_us: started,
        ended_us: ended,
        startup_us: m.startup_time,
        exec_us: ended - started,
        total_us: m.total_runtime,
      },
      run_id: runId,
      seq: index,
      rep,
      warmup: false,
      // The thesis kept no client stamps: its window ends at end_since_epoch.
      client: { sent_us: received, replied_us: ended },
      clock: null,
      energy: null,
      energy_thesis: null,
      energy_invocation: thesisEnergy(received, ended, m),
      thesis: {
        base_image: r.base_image ?? null,
        startup_percentage: m.startup_percentage ?? null,
        average_power: m.average_power ?? null,
        average_power_isolated: m.average_power_isolated ?? null,
        energy_consumption_wh: m.energy_consumption_wh ?? null,
        energy_consumption_isolated_wh: m.energy_consumption_isolated_wh ?? null,
      },
    });
  });
  warnings.push(...lacks(name, invocations, value.length));
  const withEnergy = invocations.some((l) => l.energy_invocation);
  const baselines = invocations.flatMap((l) => (l.energy_invocation?.baseline_w != null ? [l.energy_invocation.baseline_w] : []));
  return {
    dir: file,
    label: `thesis ${name}`,
    run: null,
    invocations,
    samples: [],
    gaps: [],
    stages: [],
    finished: true,
    warnings,
    observed: null,
    thesis: {
      file,
      records: value.length,
      meter: withEnergy ? 'Gude EPC 1105 (the thesis\' own readings)' : null,
      baseline_w: baselines.length ? Number(median(baselines).toPrecision(6)) : null,
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The record's energy as an invocation-window Energy (null when the thesis had none). */
function thesisEnergy(start: number, end: number, m: { average_power?: number | null; average_power_isolated?: number | null; energy_consumption_wh?: number | null; energy_consumption_isolated_wh?: number | null }): Energy | null {
  const wh = m.energy_consumption_wh ?? null;
  if (wh === null) return null;
  const avg = m.average_power ?? null;
  const iso = m.energy_consumption_isolated_wh ?? null;
  return {
    method: 'thesis',
    window: { span: 'invocation', start_us: start, end_us: end },
    samples: 0,
    avg_power_w: avg,
    energy_uwh: wh * UWH_PER_WH,
    // The thesis stated no uncertainty; null, not 0.
    uncertainty_uwh: null,
    baseline_w: avg !== null && m.average_power_isolated != null ? avg - m.average_power_isolated : null,
    isolated_energy_uwh: iso === null ? null : iso * UWH_PER_WH,
    isolated_uncertainty_uwh: null,
    largest_hole_us: null,
    note: 'imported from a thesis result file: average power of the samples read inside the invocation × total_runtime',
  };
}

/** Warnings for what a thesis file cannot tell, with the share of calls it left without energy. */
function lacks(name: string, lines: readonly InvocationLine[], records: number): RunWarning[] {
  const out: RunWarning[] = [];
  if (records === 0) return [{ file: name, message: 'holds no record' }];
  out.push({ file: name, message: 'is a thesis result file: figures are the thesis prototype\'s own; no failed or warm-up calls, no clock offset between its timestamps and the meter\'s, no energy of the function\'s run alone (only of the whole invocation)' });
  const withAny = lines.some((l) => l.energy_invocation);
  if (!withAny) {
    out.push({ file: name, message: 'has no energy (no meter ran: the VM\'s files)' });
    return out;
  }
  for (const runtime of ['wasm', 'docker'] as const) {
    const of = lines.filter((l) => l.runtime === runtime);
    if (of.length === 0) continue;
    const without = of.filter((l) => !l.energy_invocation).length;
    if (without === 0) continue;
    out.push({
      file: name,
      message: `${without} of ${of.length} ${runtime} calls (${Math.round((without / of.length) * 100)} %) have no energy: the thesis dropped windows with no sample inside or at/below idle power, so its ${runtime} energy figures lean towards longer, costlier calls`,
    });
  }
  return out;
}
