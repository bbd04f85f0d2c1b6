/**
 * Energy per invocation from a meter's sample series (docs/energy.md). Pure functions, no I/O.
 * Everything is on one clock — the bench clock; the console maps server timestamps
 * onto it before calling these.
 *
 * Units: power W, time µs, energy µWh. 1 Wh = 3600 s · 1 W = 3.6e9 W·µs, so 1 µWh = 3600 W·µs.
 *
 * A sample stands for the instant in the middle of its read, tᵢ = (t_start_us + t_end_us) / 2, with
 * power Pᵢ. Samples must be sorted by time (a sampler produces them that way); every lookup is a
 * binary search, so one window costs O(log n + samples inside it), not O(n).
 */
import type { Baseline, Energy, Gap, Sample } from '../protocol/results.js';

/** An invocation window [start_us, end_us] on the bench clock. */
export interface EnergyWindow {
  start_us: number;
  end_us: number;
}

export interface AttributionOptions {
  /** Sampling interval, µs. Estimated from the samples around the window when omitted. */
  intervalUs?: number;
  /** Spans without readings; a window overlapping one gets no integrated estimate. */
  gaps?: readonly Gap[];
}

export const UWH_PER_W_US = 1 / 3600;

const instant = (s: Sample): number => (s.t_start_us + s.t_end_us) / 2;

/** Index of the first sample whose key is ≥ t (samples.length if none). */
function lowerBound(samples: readonly Sample[], t: number, key: (s: Sample) => number): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(samples[mid]!) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Median of the instant spacing of up to 16 samples around index i: a local, outlier-proof Δt. */
export function localIntervalUs(samples: readonly Sample[], i: number): number | null {
  const from = Math.max(0, i - 8);
  const to = Math.min(samples.length - 1, i + 8);
  const diffs: number[] = [];
  for (let k = from; k < to; k++) diffs.push(instant(samples[k + 1]!) - instant(samples[k]!));
  return diffs.length === 0 ? null : median(diffs);
}

/** Median of a non-empty list (a sorted copy; the input is not mutated). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Power at time t by linear interpolation between the samples bracketing t; before the first or after
 * the last sample the nearest value is held. `i` = lowerBound(instants, t) when the caller has it.
 */
export function powerAt(samples: readonly Sample[], t: number, i = lowerBound(samples, t, instant)): number {
  const after = samples[i];
  const before = samples[i - 1];
  if (!before) return after ? after.power_w : Number.NaN;
  if (!after) return before.power_w;
  const t0 = instant(before);
  const t1 = instant(after);
  if (t1 === t0) return after.power_w;
  return before.power_w + ((after.power_w - before.power_w) * (t - t0)) / (t1 - t0);
}

/**
 * ∫ P(t) dt over [a, b] in W·µs for the piecewise-linear interpolant through (tᵢ, Pᵢ) (held constant
 * beyond the ends): the trapezoid rule over the breakpoints a, tᵢ ∈ (a, b), b — exact for that
 * interpolant. Returns the integral and how many samples contributed (inside + the bracketing ones).
 */
export function integratePower(samples: readonly Sample[], a: number, b: number): { wus: number; used: number } {
  const first = lowerBound(samples, a, instant);
  let k = first;
  let tPrev = a;
  let pPrev = powerAt(samples, a, first);
  let wus = 0;
  for (; k < samples.length; k++) {
    const s = samples[k]!;
    const t = instant(s);
    if (t >= b) break;
    wus += ((pPrev + s.power_w) / 2) * (t - tPrev);
    tPrev = t;
    pPrev = s.power_w;
  }
  wus += ((pPrev + powerAt(samples, b, k)) / 2) * (b - tPrev);
  const used = k - first + (first > 0 ? 1 : 0) + (k < samples.length ? 1 : 0);
  return { wus, used };
}

function empty(method: Energy['method'], baselineW: number | null, note: string, samples = 0): Energy {
  return { method, samples, avg_power_w: null, energy_uwh: null, baseline_w: baselineW, isolated_energy_uwh: null, note };
}

function finish(method: Energy['method'], used: number, durationUs: number, avgW: number, energyUwh: number, baselineW: number | null, notes: string[]): Energy {
  return {
    method,
    samples: used,
    avg_power_w: avgW,
    energy_uwh: energyUwh,
    baseline_w: baselineW,
    // isolated = E − P_baseline · Δt
    isolated_energy_uwh: baselineW === null ? null : energyUwh - baselineW * durationUs * UWH_PER_W_US,
    note: notes.length > 0 ? notes.join('; ') : null,
  };
}

function shortNote(durationUs: number, intervalUs: number | null): string | null {
  if (intervalUs === null || durationUs >= intervalUs) return null;
  return `window of ${Math.round(durationUs)} µs is shorter than the sampling interval (${Math.round(intervalUs)} µs): estimate interpolated between samples`;
}

/**
 * Integrated method: E = ∫ P dt over [start, end] (interpolating between samples, so every covered
 * window gets an estimate), avg = E / Δt, isolated = E − P_baseline · Δt. A window that starts or ends
 * more than one sampling interval beyond the sampled span, or overlaps a gap, gets nulls and a note.
 */
export function attributeIntegrated(samples: readonly Sample[], window: EnergyWindow, baselineW: number | null, options: AttributionOptions = {}): Energy {
  const { start_us: start, end_us: end } = window;
  if (!(end >= start)) return empty('integrated', baselineW, `window ends (${end}) before it starts (${start})`);
  if (samples.length === 0) return empty('integrated', baselineW, 'no meter samples');
  const gap = options.gaps?.find((g) => g.from_us < end && g.to_us > start);
  if (gap) return empty('integrated', baselineW, `meter gap during the window (${gap.reason})`);
  const i = lowerBound(samples, start, instant);
  const intervalUs = options.intervalUs ?? localIntervalUs(samples, i);
  const hold = intervalUs ?? 0;
  const firstT = instant(samples[0]!);
  const lastT = instant(samples[samples.length - 1]!);
  if (start < firstT - hold || end > lastT + hold) {
    return empty('integrated', baselineW, `window [${start}, ${end}] not covered by samples (they span ${Math.round(firstT)}…${Math.round(lastT)})`);
  }
  const durationUs = end - start;
  const notes: string[] = [];
  const short = shortNote(durationUs, intervalUs);
  if (short) notes.push(short);
  if (durationUs === 0) {
    notes.push('zero-length window');
    return finish('integrated', 1, 0, powerAt(samples, start, i), 0, baselineW, notes);
  }
  const { wus, used } = integratePower(samples, start, end);
  return finish('integrated', used, durationUs, wus / durationUs, wus * UWH_PER_W_US, baselineW, notes);
}

/**
 * Thesis method, kept for comparison: avg = mean of the samples read entirely inside the window
 * (start ≤ t_start and t_end ≤ end), E = avg · Δt. Windows without such a sample get nulls and a note
 * (the thesis dropped them).
 */
export function attributeThesis(samples: readonly Sample[], window: EnergyWindow, baselineW: number | null, options: AttributionOptions = {}): Energy {
  const { start_us: start, end_us: end } = window;
  if (!(end >= start)) return empty('thesis', baselineW, `window ends (${end}) before it starts (${start})`);
  let sum = 0;
  let n = 0;
  const first = lowerBound(samples, start, (s) => s.t_start_us);
  for (let k = first; k < samples.length; k++) {
    const s = samples[k]!;
    if (s.t_start_us > end) break;
    if (s.t_end_us <= end) {
      sum += s.power_w;
      n++;
    }
  }
  const durationUs = end - start;
  const short = shortNote(durationUs, options.intervalUs ?? localIntervalUs(samples, first));
  if (n === 0) return empty('thesis', baselineW, ['no sample read entirely inside the window (the thesis method drops it)', short].filter(Boolean).join('; '));
  const avg = sum / n;
  return finish('thesis', n, durationUs, avg, avg * durationUs * UWH_PER_W_US, baselineW, short ? [short] : []);
}

/**
 * Per-invocation energy of a batch: one window spanning `count` back-to-back invocations, attributed as
 * a whole and divided by `count` (E/N, isolated/N; the average power is that of the window). This
 * lifts invocations far shorter than the sampling interval above the meter's resolution.
 */
export function attributeBatch(
  samples: readonly Sample[],
  window: EnergyWindow,
  count: number,
  baselineW: number | null,
  options: AttributionOptions & { method?: Energy['method'] } = {},
): Energy {
  const whole = (options.method === 'thesis' ? attributeThesis : attributeIntegrated)(samples, window, baselineW, options);
  if (!(count >= 1) || !Number.isInteger(count)) return { ...whole, energy_uwh: null, isolated_energy_uwh: null, note: `batch count ${count} is not a positive integer` };
  const batchNote = `per-invocation share of a batch of ${count}`;
  return {
    ...whole,
    energy_uwh: whole.energy_uwh === null ? null : whole.energy_uwh / count,
    isolated_energy_uwh: whole.isolated_energy_uwh === null ? null : whole.isolated_energy_uwh / count,
    note: whole.note ? `${batchNote}; ${whole.note}` : batchNote,
  };
}

/**
 * Idle power from a baseline phase, robust to outliers: power = median(Pᵢ), spread = MAD =
 * median(|Pᵢ − median|) (unscaled; × 1.4826 estimates σ for normal noise). seconds = span of the reads.
 */
export function estimateBaseline(samples: readonly Sample[]): Baseline {
  const powers = samples.map((s) => s.power_w).filter((p) => Number.isFinite(p));
  if (powers.length === 0) return { seconds: 0, samples: 0, power_w: null, spread_w: null };
  const m = median(powers);
  const mad = median(powers.map((p) => Math.abs(p - m)));
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  return { seconds: Math.max(0, last.t_end_us - first.t_start_us) / 1e6, samples: powers.length, power_w: m, spread_w: mad };
}

/** Samples sorted by instant (a copy); the sampler already yields them in order, merged series may not. */
export function sortSamples(samples: readonly Sample[]): Sample[] {
  return [...samples].sort((a, b) => instant(a) - instant(b));
}
