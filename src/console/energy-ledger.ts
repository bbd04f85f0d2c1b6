/**
 * The energy ledger: pairs finished invocations with the meter's samples and attributes each one's
 * energy once the meter has read past its window (interpolation at a window's end needs the sample
 * after it). Pure bookkeeping — no timers, no clock, no I/O: the driver feeds it its events
 * (invocations, samples, gaps, baselines) and emits the records it hands back. Records come out in
 * seq order, each as soon as every earlier window is covered.
 */
import type { Baseline, Energy, EnergyLine, Gap, InvocationLine, Sample } from '../protocol/results.js';
import { toBenchUs } from './clock-offset.js';

/** An invocation window on the bench clock, µs. */
export interface BenchWindow {
  start_us: number;
  end_us: number;
}

/** The energy functions the ledger applies (src/meter/attribution.ts). Windows on the bench clock. */
export interface Attribution {
  integrated(samples: readonly Sample[], window: BenchWindow, baselineW: number | null, gaps: readonly Gap[]): Energy;
  thesis(samples: readonly Sample[], window: BenchWindow, baselineW: number | null, gaps: readonly Gap[]): Energy;
  baseline(samples: readonly Sample[]): Baseline;
}

interface Held {
  runId: string;
  seq: number;
  /** Null for a line without server stamps (a failed request): nothing to attribute. */
  window: BenchWindow | null;
}

/** Samples kept in memory before old ones are pruned (≥ 500 samples/s must not grow without bound). */
const PRUNE_AT = 4096;
/** Interpolation needs the sample before a window's start: keep this much history before the oldest one. */
const KEEP_BEFORE_US = 2_000_000;

export class EnergyLedger {
  readonly #attribution: Attribution;
  #samples: Sample[] = [];
  #gaps: Gap[] = [];
  #held: Held[] = [];
  #baselineW: number | null = null;
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

  /** Idle power subtracted from later attributions (null: none). */
  setBaseline(baselineW: number | null): void {
    this.#baselineW = baselineW;
  }

  /** Idle power from the samples of a baseline phase. */
  baseline(samples: readonly Sample[]): Baseline {
    return this.#attribution.baseline(samples);
  }

  /** Holds a finished invocation until the meter covers it; returns the records now ready. */
  addInvocation(line: InvocationLine): EnergyLine[] {
    const m = line.metrics;
    const clock = line.clock ?? { offset_us: 0, uncertainty_us: 0 };
    const window = m ? { start_us: toBenchUs(m.started_us, clock), end_us: toBenchUs(m.ended_us, clock) } : null;
    this.#held.push({ runId: line.run_id, seq: line.seq, window });
    return this.#ready(false);
  }

  addSample(sample: Sample): EnergyLine[] {
    this.#samples.push(sample);
    if (sample.t_start_us > this.#coveredUs) this.#coveredUs = sample.t_start_us;
    const out = this.#ready(false);
    this.#prune(sample.t_start_us);
    return out;
  }

  addGap(gap: Gap): EnergyLine[] {
    this.#gaps.push(gap);
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
      if (!all && next.window && next.window.end_us >= this.#coveredUs) break;
      this.#held.shift();
      const w = next.window;
      out.push({
        run_id: next.runId,
        seq: next.seq,
        energy: w ? this.#attribution.integrated(this.#samples, w, this.#baselineW, this.#gaps) : null,
        energy_thesis: w ? this.#attribution.thesis(this.#samples, w, this.#baselineW, this.#gaps) : null,
      });
    }
    return out;
  }

  /** Drops samples no held or future window can need. */
  #prune(latestUs: number): void {
    if (this.#samples.length < PRUNE_AT) return;
    const oldest = this.#held.find((h) => h.window)?.window?.start_us ?? latestUs;
    const keepFrom = oldest - KEEP_BEFORE_US;
    const index = this.#samples.findIndex((s) => s.t_end_us >= keepFrom);
    if (index > 0) this.#samples = this.#samples.slice(index);
  }
}
