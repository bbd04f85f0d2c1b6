import type { InvocationLine } from '../../src/protocol/results.js';

/** A successful invocation line with the given startup/total µs and isolated energy µWh. */
export function line(over: Partial<InvocationLine> & { startup?: number; total?: number; iso?: number | null }): InvocationLine {
  const { startup = 500, total = 700, iso = 2, ...rest } = over;
  return {
    function: 'factorial',
    runtime: 'wasm',
    input: '3',
    output: '6',
    ok: true,
    exit_code: 0,
    start_source: 'function',
    metrics: { received_us: 0, ready_us: 1, started_us: startup, ended_us: total, startup_us: startup, exec_us: total - startup, total_us: total },
    run_id: 'r',
    seq: 0,
    rep: 0,
    warmup: false,
    client: { sent_us: 0, replied_us: 1 },
    clock: null,
    energy:
      iso === null
        ? null
        : { method: 'integrated', samples: 1, avg_power_w: 3, energy_uwh: iso + 1, baseline_w: 2.5, isolated_energy_uwh: iso, note: null },
    ...rest,
  };
}

