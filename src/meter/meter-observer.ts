/**
 * What a meter's samples show about the meter itself (docs/energy.md, "Refresh period"): the median
 * time between reads, the time between changes of the values served (power, V, I, PF; the lower
 * decile) — how often the device really refreshes them, whatever the read rate — the largest
 * quantisation error and the longest hole. Reading a device 700 times a second that refreshes once a second is one measurement a
 * second, not 700. Online and bounded: recent intervals only.
 */
import type { Gap, Sample } from '../protocol/results.js';

/** Recent intervals kept for the medians. */
const KEEP = 256;
/** Changes needed before a refresh period is stated. */
const MIN_CHANGES = 3;

export interface MeterObserved {
  interval_us: number | null;
  refresh_us: number | null;
  resolution_w: number | null;
  largest_hole_us: number | null;
  samples: number;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The lower decile (nearest rank). */
function lowDecile(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) * 0.1)]!;
}

/** Whether any value the device served differs between two reads (a refresh shows in V, I or PF even at constant power). */
function changed(a: Sample, b: Sample): boolean {
  return a.power_w !== b.power_w || a.voltage_v !== b.voltage_v || a.current_a !== b.current_a || a.pf !== b.pf || a.device_power_w !== b.device_power_w;
}

function push(ring: number[], value: number): void {
  ring.push(value);
  if (ring.length > KEEP) ring.shift();
}

export class MeterObserver {
  #samples = 0;
  #last: Sample | null = null;
  #lastChangeUs: number | null = null;
  readonly #intervals: number[] = [];
  readonly #changes: number[] = [];
  #resolutionW: number | null = null;
  #largestHoleUs: number | null = null;
  #refreshUs: number | null = null;
  #intervalUs: number | null = null;
  #dirty = true;

  add(sample: Sample): void {
    this.#samples++;
    const last = this.#last;
    const t = (sample.t_start_us + sample.t_end_us) / 2;
    if (last) {
      push(this.#intervals, t - (last.t_start_us + last.t_end_us) / 2);
      const hole = sample.t_end_us - last.t_start_us;
      if (this.#largestHoleUs === null || hole > this.#largestHoleUs) this.#largestHoleUs = hole;
      if (changed(last, sample)) {
        if (this.#lastChangeUs !== null) push(this.#changes, t - this.#lastChangeUs);
        this.#lastChangeUs = t;
      }
    }
    if (sample.resolution_w !== undefined && (this.#resolutionW === null || sample.resolution_w > this.#resolutionW)) this.#resolutionW = sample.resolution_w;
    this.#last = sample;
    this.#dirty = true;
  }

  /** A gap breaks the series: the interval across it is neither a read interval nor a refresh. */
  addGap(_gap: Gap): void {
    this.#last = null;
    this.#lastChangeUs = null;
  }

  #update(): void {
    if (!this.#dirty) return;
    this.#intervalUs = median(this.#intervals);
    // A device cannot change faster than it refreshes, but it need not change at every refresh
    // (a value can repeat): the shortest intervals between changes tell the period, not the median.
    // So: the median of the intervals near the shortest ones (within 1.5× their lower decile; a read
    // held up makes one interval long and the next short, which the decile alone would follow).
    const decile = this.#changes.length >= MIN_CHANGES ? lowDecile(this.#changes) : null;
    this.#refreshUs = decile === null ? null : median(this.#changes.filter((x) => x <= 1.5 * decile));
    this.#dirty = false;
  }

  /** Median time between reads, µs (null before two reads). */
  get intervalUs(): number | null {
    this.#update();
    return this.#intervalUs;
  }

  /** Time between changes of the values (their lower decile), µs (null until they have changed a few times). */
  get refreshUs(): number | null {
    this.#update();
    return this.#refreshUs;
  }

  facts(): MeterObserved {
    return { interval_us: this.intervalUs, refresh_us: this.refreshUs, resolution_w: this.#resolutionW, largest_hole_us: this.#largestHoleUs, samples: this.#samples };
  }
}

/** The facts of a whole recorded series (the report reads samples.jsonl). */
export function observeSeries(samples: readonly Sample[], gaps: readonly Gap[] = []): MeterObserved {
  const observer = new MeterObserver();
  const sortedGaps = [...gaps].sort((a, b) => a.from_us - b.from_us);
  let g = 0;
  for (const s of samples) {
    while (g < sortedGaps.length && sortedGaps[g]!.to_us <= s.t_start_us) observer.addGap(sortedGaps[g++]!);
    observer.add(s);
  }
  return observer.facts();
}
