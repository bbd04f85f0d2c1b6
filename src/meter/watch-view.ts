/** The text frame of `nebula meter watch`: pure, so it is tested without a terminal. */
import asciichart from 'asciichart';

export interface WatchState {
  description: string;
  /** Mean power per time bin, oldest first (see PowerBins). */
  powers: readonly number[];
  /** Width of one bin (one chart column), ms. */
  binMs: number;
  watts: number | null;
  rateHz: number;
  samples: number;
  gaps: number;
  status: string | null;
}

/** The last n values: the chart scrolls left as samples arrive. */
export function lastN<T>(values: readonly T[], n: number): T[] {
  return values.length <= n ? [...values] : values.slice(values.length - n);
}

/**
 * Mean power per fixed time bin. One chart column per *sample* would show only the last ~0.1 s at
 * 700 samples/s; per bin (250 ms by default) the chart spans tens of seconds whatever the rate.
 */
export class PowerBins {
  readonly #binUs: number;
  readonly #max: number;
  readonly #done: number[] = [];
  #start = -1;
  #sum = 0;
  #n = 0;

  constructor(binMs = 250, maxBins = 1024) {
    this.#binUs = binMs * 1000;
    this.#max = maxBins;
  }

  /** Adds a reading taken at `tUs` (µs since epoch). Bins without readings repeat no value: gaps show as a jump. */
  add(tUs: number, watts: number): void {
    const start = tUs - (tUs % this.#binUs);
    if (start !== this.#start) {
      if (this.#n > 0) this.#done.push(this.#sum / this.#n);
      if (this.#done.length > this.#max) this.#done.splice(0, this.#done.length - this.#max);
      this.#start = start;
      this.#sum = 0;
      this.#n = 0;
    }
    this.#sum += watts;
    this.#n++;
  }

  /** Completed bins plus the current, partial one. */
  values(): number[] {
    return this.#n > 0 ? [...this.#done, this.#sum / this.#n] : [...this.#done];
  }
}

/** Smallest span of the chart's y axis, W: below it, the meter's own resolution (~0.1 W) looks like swings. */
const MIN_SPAN_W = 0.5;

/** Renders header + sparkline for a terminal of `columns` × `rows`. */
export function renderWatch(state: WatchState, columns: number, rows: number): string {
  const width = Math.max(10, columns - 14);
  const height = Math.max(3, Math.min(20, rows - 7));
  const series = lastN(state.powers, width);
  const watts = state.watts === null ? '—' : `${state.watts.toFixed(3)} W`;
  const header = [
    state.description.length > columns ? `${state.description.slice(0, columns - 1)}…` : state.description,
    `power ${watts}   rate ${state.rateHz.toFixed(0)} samples/s   samples ${state.samples}   gaps ${state.gaps}`,
    state.status ?? '',
  ];
  let chart = '(waiting for samples)';
  if (series.length >= 2) {
    let min = Math.min(...series);
    let max = Math.max(...series);
    if (max - min < MIN_SPAN_W) {
      const mid = (max + min) / 2;
      min = mid - MIN_SPAN_W / 2;
      max = mid + MIN_SPAN_W / 2;
    }
    const seconds = (series.length * state.binMs) / 1000;
    chart = `last ${seconds.toFixed(seconds < 10 ? 1 : 0)} s, ${state.binMs} ms per column\n${asciichart.plot(series, {
      height,
      min,
      max,
      format: (x: number) => `${x.toFixed(2).padStart(8)} W `,
    })}`;
  }
  return `${header.join('\n')}\n${chart}\n(Ctrl-C to stop)`;
}
