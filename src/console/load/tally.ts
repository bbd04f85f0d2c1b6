/**
 * Per-stage accounting of a load run: every scheduled request is counted exactly once as completed,
 * failed or dropped (sent = completed + failed + dropped, checked by `balanced`), latencies are
 * counted from the intended send time, and lateness (actual − intended send) says how well the
 * generator kept its schedule. `live()` is what the TUI shows while the stage runs; `line()` is the
 * stage's record in stages.jsonl once its energy is known.
 */
import type { Runtime } from '../../protocol/api.js';
import type { Outcome, StageEnergy, StageLine } from '../../protocol/results.js';
import { quantileSorted, sorted } from '../../report/stats.js';
import { LatencyHistogram } from './histogram.js';
import type { StageSpec } from './stages.js';

/** The live state of the stage being driven (the `load` event). */
export interface StageStatus {
  runtime: Runtime;
  stage: number;
  stages: number;
  mode: StageSpec['mode'];
  /** Asked requests per second (open loop) or null (closed loop: as fast as answers come). */
  askedRps: number | null;
  concurrency: number | null;
  /** Completed invocations per second since the stage began. */
  achievedRps: number;
  sent: number;
  completed: number;
  failed: number;
  dropped: number;
  inFlight: number;
  /**
   * Latency from the intended send time over the stage so far, µs (null before the first answer);
   * nearest rank, within 0.8 % (histogram.ts) — the stage's line in stages.jsonl has exact quantiles.
   */
  p50Us: number | null;
  p99Us: number | null;
  elapsedS: number;
  seconds: number;
  finished: boolean;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export class StageTally {
  readonly spec: StageSpec;
  readonly runtime: Runtime;
  readonly stages: number;
  /** Bench µs of the first scheduled send. */
  readonly startUs: number;
  endUs: number;
  sent = 0;
  completed = 0;
  failed = 0;
  dropped = 0;
  inFlight = 0;
  readonly #latencies: number[] = [];
  /** The same latencies for the live status (approximate quantiles without sorting, histogram.ts). */
  readonly #live = new LatencyHistogram();
  readonly #lateness: number[] = [];

  constructor(spec: StageSpec, runtime: Runtime, stages: number, startUs: number) {
    this.spec = spec;
    this.runtime = runtime;
    this.stages = stages;
    this.startUs = startUs;
    this.endUs = startUs;
  }

  /** A request handed to the client `latenessUs` after it was due. */
  sending(latenessUs: number): void {
    this.sent++;
    this.inFlight++;
    this.#lateness.push(latenessUs);
  }

  /** A request not sent (max_in_flight reached): counted as sent and dropped. */
  droppedOne(atUs: number): void {
    this.sent++;
    this.dropped++;
    if (atUs > this.endUs) this.endUs = atUs;
  }

  /** The outcome of a sent request; `latencyUs` counts from its intended send time. */
  settled(outcome: Exclude<Outcome, 'dropped'>, latencyUs: number, atUs: number): void {
    this.inFlight--;
    if (outcome === 'completed') {
      this.completed++;
      this.#latencies.push(latencyUs);
      this.#live.record(latencyUs);
    } else this.failed++;
    if (atUs > this.endUs) this.endUs = atUs;
  }

  /** The accounting invariant: every scheduled request is exactly one of completed, failed, dropped, in flight. */
  balanced(): boolean {
    return this.sent === this.completed + this.failed + this.dropped + this.inFlight;
  }

  live(nowUs: number, finished = false): StageStatus {
    const elapsedS = Math.max(0, ((finished ? this.endUs : nowUs) - this.startUs) / 1e6);
    const s = this.spec;
    return {
      runtime: this.runtime,
      stage: s.index,
      stages: this.stages,
      mode: s.mode,
      askedRps: s.mode === 'open' ? s.rate : null,
      concurrency: s.mode === 'closed' ? s.concurrency : null,
      achievedRps: elapsedS > 0 ? this.completed / elapsedS : 0,
      sent: this.sent,
      completed: this.completed,
      failed: this.failed,
      dropped: this.dropped,
      inFlight: this.inFlight,
      p50Us: finite(this.#live.quantile(0.5)),
      p99Us: finite(this.#live.quantile(0.99)),
      elapsedS,
      seconds: s.seconds,
      finished,
    };
  }

  /** The stage's stages.jsonl record. */
  line(runId: string, energy: StageEnergy | null): StageLine {
    const s = this.spec;
    const lat = sorted(this.#latencies);
    const late = sorted(this.#lateness);
    const windowS = (this.endUs - this.startUs) / 1e6;
    return {
      run_id: runId,
      runtime: this.runtime,
      stage: s.index,
      mode: s.mode,
      rate: s.mode === 'open' ? s.rate : null,
      concurrency: s.mode === 'closed' ? s.concurrency : null,
      arrivals: s.mode === 'open' ? s.arrivals : null,
      seconds: s.seconds,
      window: { start_us: this.startUs, end_us: this.endUs },
      sent: this.sent,
      completed: this.completed,
      failed: this.failed,
      dropped: this.dropped,
      // Over the schedule or, when answers came in after it, until the last answer.
      throughput_rps: this.completed / Math.max(s.seconds, windowS),
      offered_rps: this.sent / s.seconds,
      latency: {
        n: lat.length,
        p50_us: finite(quantileSorted(lat, 0.5)),
        p90_us: finite(quantileSorted(lat, 0.9)),
        p99_us: finite(quantileSorted(lat, 0.99)),
        max_us: finite(lat.length ? lat[lat.length - 1]! : NaN),
      },
      lateness: {
        p50_us: finite(quantileSorted(late, 0.5)),
        p99_us: finite(quantileSorted(late, 0.99)),
        max_us: finite(late.length ? late[late.length - 1]! : NaN),
      },
      energy,
    };
  }
}
