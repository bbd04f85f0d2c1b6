/**
 * In-memory counters and histograms per function and runtime, rendered as Prometheus text
 * (exposition format 0.0.4) for GET /metrics.
 */
import type { Metrics } from '../protocol/api.js';
import type { Admission, AdmissionStats } from './admission.js';
import type { StampAdjustment } from './result.js';

/** Histogram upper bounds in seconds: 100 µs (a warm wasm start) … 10 s (a slow container). */
export const BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Array<number>(BUCKETS_S.length).fill(0);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < BUCKETS_S.length; i++) if (seconds <= BUCKETS_S[i]!) this.counts[i]!++;
  }
}

interface Series {
  fn: string;
  runtime: string;
  invocations: number;
  errors: Map<string, number>;
  /** Stamps corrected by kind (clamped / rejected): 0 in the normal case, so any count is a finding. */
  adjustments: Map<string, number>;
  startup: Histogram;
  exec: Histogram;
  teardown: Histogram;
  total: Histogram;
}

export class MetricsRegistry {
  readonly #series = new Map<string, Series>();

  #get(fn: string, runtime: string): Series {
    const key = `${fn}\u0000${runtime}`;
    let s = this.#series.get(key);
    if (!s) {
      s = { fn, runtime, invocations: 0, errors: new Map(), adjustments: new Map(), startup: new Histogram(), exec: new Histogram(), teardown: new Histogram(), total: new Histogram() };
      this.#series.set(key, s);
    }
    return s;
  }

  /** Counts one finished invocation; `ok: false` also counts as an error with reason "failed". */
  recordResult(fn: string, runtime: string, ok: boolean, m: Metrics, adjustment?: StampAdjustment): void {
    const s = this.#get(fn, runtime);
    s.invocations++;
    if (!ok) s.errors.set('failed', (s.errors.get('failed') ?? 0) + 1);
    if (adjustment) s.adjustments.set(adjustment, (s.adjustments.get(adjustment) ?? 0) + 1);
    s.startup.observe(m.startup_us / 1e6);
    s.exec.observe(m.exec_us / 1e6);
    s.teardown.observe((m.teardown_us ?? 0) / 1e6);
    s.total.observe(m.total_us / 1e6);
  }

  /** Counts an invocation that ended in an HTTP error (timeout, busy, unavailable, …). */
  recordError(fn: string, runtime: string, reason: string): void {
    const s = this.#get(fn, runtime);
    s.invocations++;
    s.errors.set(reason, (s.errors.get(reason) ?? 0) + 1);
  }

  /** The Prometheus text exposition of every series. */
  render(): string {
    const series = [...this.#series.values()].sort((a, b) => (a.fn + a.runtime).localeCompare(b.fn + b.runtime));
    const lines: string[] = [];
    lines.push('# HELP nebula_invocations_total Invocations received, by function and runtime.');
    lines.push('# TYPE nebula_invocations_total counter');
    for (const s of series) lines.push(`nebula_invocations_total{${labels(s)}} ${s.invocations}`);
    lines.push('# HELP nebula_invocation_errors_total Invocations that failed (ok:false) or ended in an HTTP error, by reason.');
    lines.push('# TYPE nebula_invocation_errors_total counter');
    for (const s of series) {
      for (const [reason, n] of [...s.errors].sort()) lines.push(`nebula_invocation_errors_total{${labels(s)},reason="${reason}"} ${n}`);
    }
    lines.push(
      '# HELP nebula_timestamp_adjustments_total Invocations whose stamps had to be corrected: clamped into received <= ready <= started <= ended, or the function\'s own start or end stamp rejected as implausible. 0 normally.',
    );
    lines.push('# TYPE nebula_timestamp_adjustments_total counter');
    for (const s of series) {
      for (const [kind, n] of [...s.adjustments].sort()) lines.push(`nebula_timestamp_adjustments_total{${labels(s)},kind="${kind}"} ${n}`);
    }
    const histograms: Array<[string, string, (s: Series) => Histogram]> = [
      ['nebula_invocation_startup_seconds', 'Cold start: started_us - received_us.', (s) => s.startup],
      ['nebula_invocation_exec_seconds', "Execution, the function's own run: finished_us - started_us.", (s) => s.exec],
      ['nebula_invocation_teardown_seconds', "Teardown: ended_us - finished_us (the function's end until the runtime observed it).", (s) => s.teardown],
      ['nebula_invocation_total_seconds', 'Total: ended_us - received_us.', (s) => s.total],
    ];
    for (const [name, help, pick] of histograms) {
      lines.push(`# HELP ${name} ${help}`);
      lines.push(`# TYPE ${name} histogram`);
      for (const s of series) {
        const h = pick(s);
        if (h.count === 0) continue;
        BUCKETS_S.forEach((le, i) => lines.push(`${name}_bucket{${labels(s)},le="${le}"} ${h.counts[i]}`));
        lines.push(`${name}_bucket{${labels(s)},le="+Inf"} ${h.count}`);
        lines.push(`${name}_sum{${labels(s)}} ${Number(h.sum.toFixed(6))}`);
        lines.push(`${name}_count{${labels(s)}} ${h.count}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

function labels(s: Series): string {
  // Function names match FUNCTION_NAME and runtimes are an enum: nothing to escape.
  return `function="${s.fn}",runtime="${s.runtime}"`;
}

/** Admission gauges and refusal counters per runtime, as Prometheus text (docs/api.md). */
export function renderAdmission(admission: Record<string, Admission>): string {
  const stats = Object.entries(admission).map(([runtime, a]) => [runtime, a.stats()] as const);
  const gauges: Array<[string, string, (s: AdmissionStats) => number]> = [
    ['nebula_runtime_in_flight', 'Invocations running now, by runtime.', (s) => s.inFlight],
    ['nebula_runtime_queued', 'Invocations waiting for a slot now, by runtime.', (s) => s.queued],
    ['nebula_runtime_slots', 'Invocations a runtime runs at once (--workers, --max-processes, --max-containers).', (s) => s.slots],
    ['nebula_runtime_queue_limit', 'Invocations allowed to wait for a slot (--queue).', (s) => s.queue],
  ];
  const lines: string[] = [];
  for (const [name, help, pick] of gauges) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [runtime, s] of stats) lines.push(`${name}{runtime="${runtime}"} ${pick(s)}`);
  }
  lines.push('# HELP nebula_runtime_refused_total Invocations refused with 503 before running: busy (queue full) or queue-timeout (waited past --queue-timeout-ms).');
  lines.push('# TYPE nebula_runtime_refused_total counter');
  for (const [runtime, s] of stats) {
    lines.push(`nebula_runtime_refused_total{runtime="${runtime}",reason="busy"} ${s.refusedBusy}`);
    lines.push(`nebula_runtime_refused_total{runtime="${runtime}",reason="queue-timeout"} ${s.refusedTimeout}`);
  }
  return lines.join('\n') + '\n';
}
