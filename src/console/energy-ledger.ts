/**
 * The energy ledger: pairs finished invocations with the meter's samples and attributes each one's
 * energy once the meter has read past its window (interpolation at a window's end needs the sample
 * after it). Pure bookkeeping — no timers, no clock, no I/O: the driver feeds it its events
 * (invocations, samples, gaps, baselines) and emits the records it hands back. Records come out in
 * seq order, each as soon as every earlier window is covered.
 */
import type { AttributionOptions, EnergyWindow } from '../meter/attribution.js';
import { MeterObserver } from '../meter/meter-observer.js';
import type { Baseline, Energy, EnergyLine, Gap, InvocationLine, Sample } from '../protocol/results.js';
import { toBenchUs } from './clock-offset.js';

/** A window on the bench clock, µs. */
export type BenchWindow = EnergyWindow;

/** The energy functions the ledger applies (src/meter/attribution.ts). Windows on the bench clock. */
export interface Attribution {
  integrated(samples: readonly Sample[], window: BenchWindow, baselineW: number | null, options: AttributionOptions): Energy;
  thesis(samples: readonly Sample[], window: BenchWindow, baselineW: number | null, options: AttributionOptions): Energy;
  baseline(samples: readonly Sample[]): Baseline;
}

/** MAD → σ for normally distributed noise. */
const MAD_TO_SD = 1.4826;

interface Held {
  runId: string;
  seq: number;
  /** The function's own run, started → finished (null for a line without server stamps: a failed request). */
  run: BenchWindow | null;
  /** The whole invocation, received → the reply at the bench (the thesis' window). */
  invocation: BenchWindow | null;
  clockUs: number;
}

/** Samples kept in memory before old ones are pruned (≥ 500 samples/s must not grow without bound). */
const PRUNE_AT = 4096;
/**
 * Interpolation needs the sample before a window's start and its uncertainty the power levels around
 * it (errorBound looks 0.5 s either side): keep this much history before the oldest one.
 */
const KEEP_BEFORE_US = 2_000_000;

export class EnergyLedger {
  readonly #attribution: Attribution;
  #samples: Sample[] = [];
  #gaps: Gap[] = [];
  #held: Held[] = [];
  #baselineW: number | null = null;
  #baselineUncertaintyW = 0;
  /** The meter's read interval and refresh period, measured from the samples as they come. */
  readonly observer = new MeterObserver();
  /** Bench time up to which the meter has reported (a sample started after it, or a gap covers it). */
  #coveredUs = -Infinity;

  constructor(attribution: Attribution) {
    this.#attribution = attribution;
  }

  /** Lines waiting for the meter to read past their window. */
  get pending(): number {
    return this.#held.length;
  }

  /** Bench time up to which the meter has reported. */
  get coveredUs(): number {
    return this.#coveredUs;
  }

  /** Idle power subtracted from later attributions (null: none), with its standard error from the phase's spread. */
  setBaseline(baselineW: number | null, baseline?: Baseline): void {
    this.#baselineW = baselineW;
    this.#baselineUncertaintyW = baseline?.spread_w != null && baseline.samples > 0 ? (MAD_TO_SD * baseline.spread_w) / Math.sqrt(baseline.samples) : 0;
  }

  /** Idle power from the samples of a baseline phase. */
  baseline(samples: readonly Sample[]): Baseline {
    return this.#attribution.baseline(samples);
  }

  /** Holds a finished invocation until the meter covers it; returns the records now ready. */
  addInvocation(line: InvocationLine): EnergyLine[] {
    const m = line.metrics;
    const clock = line.clock ?? { offset_us: 0, uncertainty_us: 0 };
    // The function's own end: its nebula-end stamp (finished_us) when the harness printed one, else ended.
    const run: BenchWindow | null = m ? { span: 'run', start_us: toBenchUs(m.started_us, clock), end_us: toBenchUs(m.finished_us ?? m.ended_us, clock) } : null;
    // The reply is stamped on the bench clock itself; never before the function ended.
    const invocation: BenchWindow | null = m && run
      ? { span: 'invocation', start_us: toBenchUs(m.received_us, clock), end_us: Math.max(line.client.replied_us, run.end_us) }
      : null;
    this.#held.push({ runId: line.run_id, seq: line.seq, run, invocation, clockUs: clock.uncertainty_us });
    return this.#ready(false);
  }

  addSample(sample: Sample): EnergyLine[] {
    this.#samples.push(sample);
    this.observer.add(sample);
    if (sample.t_start_us > this.#coveredUs) this.#coveredUs = sample.t_start_us;
    const out = this.#ready(false);
    this.#prune(sample.t_start_us);
    return out;
  }

  addGap(gap: Gap): EnergyLine[] {
    this.#gaps.push(gap);
    this.observer.addGap(gap);
    if (gap.to_us > this.#coveredUs) this.#coveredUs = gap.to_us;
    return this.#ready(false);
  }

  /** Attributes every held line with what there is (the run is over; the meter will read no more). */
  flush(): EnergyLine[] {
    return this.#ready(true);
  }

  #ready(all: boolean): EnergyLine[] {
    const out: EnergyLine[] = [];
    while (this.#held.length) {
      const next = this.#held[0]!;
      const end = next.invocation ? Math.max(next.invocation.end_us, next.run?.end_us ?? -Infinity) : null;
      if (!all && end !== null && end >= this.#coveredUs) break;
      this.#held.shift();
      const base = { gaps: this.#gaps, clockUs: next.clockUs, refreshUs: this.observer.refreshUs, baselineUncertaintyW: this.#baselineUncertaintyW };
      const run: AttributionOptions = { ...base, clockEdges: 'both' };
      const whole: AttributionOptions = { ...base, clockEdges: 'start' };
      out.push({
        run_id: next.runId,
        seq: next.seq,
        energy: next.run ? this.#attribution.integrated(this.#samples, next.run, this.#baselineW, run) : null,
        energy_thesis: next.invocation ? this.#attribution.thesis(this.#samples, next.invocation, this.#baselineW, whole) : null,
        energy_invocation: next.invocation ? this.#attribution.integrated(this.#samples, next.invocation, this.#baselineW, whole) : null,
      });
    }
    return out;
  }

  /** Drops samples no held or future window can need. */
  #prune(latestUs: number): void {
    if (this.#samples.length < PRUNE_AT) return;
    const oldest = this.#held.find((h) => h.invocation)?.invocation?.start_us ?? latestUs;
    const keepFrom = oldest - KEEP_BEFORE_US;
    const index = this.#samples.findIndex((s) => s.t_end_us >= keepFrom);
    if (index > 0) this.#samples = this.#samples.slice(index);
  }
}
