/**
 * The meter's samples during a load run, kept from each stage's start so the stage's energy can be
 * integrated once the meter has read past its end. It listens to the driver's `sample` and `gap`
 * events like any other consumer; the driver's own per-invocation bookkeeping is not involved.
 */
import type { EventEmitter } from 'node:events';
import type { Gap, Sample } from '../../protocol/results.js';
import type { DriverEventMap } from '../driver.js';

/** Samples before a window's start kept for interpolation at its edge. */
const EDGE_US = 2_000_000;

export class MeterWindow {
  samples: Sample[] = [];
  gaps: Gap[] = [];
  /** Bench time up to which the meter has reported (a later sample started, or a gap covers it). */
  coveredUs = 0;
  #keepFromUs = 0;
  readonly #events: EventEmitter<DriverEventMap>;
  readonly #onSample = (s: Sample): void => {
    if (s.t_end_us >= this.#keepFromUs) this.samples.push(s);
    if (s.t_start_us > this.coveredUs) this.coveredUs = s.t_start_us;
  };
  readonly #onGap = (g: Gap): void => {
    this.gaps.push(g);
    if (g.to_us > this.coveredUs) this.coveredUs = g.to_us;
  };

  constructor(events: EventEmitter<DriverEventMap>) {
    this.#events = events;
    events.on('sample', this.#onSample);
    events.on('gap', this.#onGap);
  }

  /** Forgets what came before a stage starting at `startUs` (memory stays flat over a long sweep). */
  keepFrom(startUs: number): void {
    this.#keepFromUs = startUs - EDGE_US;
    const i = this.samples.findIndex((s) => s.t_end_us >= this.#keepFromUs);
    this.samples = i < 0 ? [] : this.samples.slice(i);
    this.gaps = this.gaps.filter((g) => g.to_us >= this.#keepFromUs);
  }

  /** Powers of the samples read inside [start, end]. */
  powersIn(startUs: number, endUs: number): number[] {
    return this.samples.filter((s) => s.t_start_us >= startUs && s.t_end_us <= endUs).map((s) => s.power_w);
  }

  /** Waits (polling every `stepMs`, at most `limitMs`) until the meter has read past `endUs`. */
  async coveredPast(endUs: number, limitMs: number, sleep: (ms: number) => Promise<void>, stepMs = 20): Promise<void> {
    for (let waited = 0; this.coveredUs <= endUs && waited < limitMs; waited += stepMs) await sleep(stepMs);
  }

  close(): void {
    this.#events.off('sample', this.#onSample);
    this.#events.off('gap', this.#onGap);
  }
}
