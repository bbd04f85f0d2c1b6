/** Builds InvocationLine values for tests without repeating every field. */
import type { Runtime } from '../../src/protocol/api.js';
import type { InvocationLine } from '../../src/protocol/results.js';

export interface LineSpec {
  fn?: string;
  runtime?: Runtime;
  input?: string;
  startup: number;
  exec?: number;
  ok?: boolean;
  warmup?: boolean;
  energy?: number | null;
  isolated?: number | null;
  note?: string | null;
  seq?: number;
}

export function line(spec: LineSpec): InvocationLine {
  const received = 1_714_755_235_000_000 + (spec.seq ?? 0) * 1_000_000;
  const exec = spec.exec ?? 100;
  const started = received + spec.startup;
  return {
    function: spec.fn ?? 'fibonacci-recursive',
    runtime: spec.runtime ?? 'wasm',
    input: spec.input ?? '10',
    output: '55',
    ok: spec.ok ?? true,
    exit_code: spec.ok === false ? 1 : 0,
    start_source: 'function',
    metrics: {
      received_us: received,
      ready_us: received + 1,
      started_us: started,
      ended_us: started + exec,
      startup_us: spec.startup,
      exec_us: exec,
      total_us: spec.startup + exec,
    },
    run_id: 'test-run',
    seq: spec.seq ?? 0,
    rep: 0,
    warmup: spec.warmup ?? false,
    client: { sent_us: received - 50, replied_us: started + exec + 50 },
    clock: { offset_us: 0, uncertainty_us: 10 },
    energy:
      spec.energy === undefined
        ? null
        : {
            method: 'integrated',
            samples: 2,
            avg_power_w: 3,
            energy_uwh: spec.energy,
            baseline_w: 2.5,
            isolated_energy_uwh: spec.isolated ?? null,
            note: spec.note ?? null,
          },
  };
}
