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
import type { Baseline, Energy, EnergySpan, Gap, Sample } from '../protocol/results.js';

/** A window [start_us, end_us] on the bench clock; `span` says what it covers (default "run"). */
export interface EnergyWindow {
  start_us: number;
  end_us: number;
  span?: EnergySpan;
}

export interface AttributionOptions {
  /** Sampling interval, µs. Estimated from the samples around the window when omitted. */
  intervalUs?: number;
  /** Spans without readings; a window overlapping one gets no integrated estimate. */
  gaps?: readonly Gap[];
  /** Clock-offset uncertainty of the window's server-stamped edges, µs (0: both edges on the bench clock). */
  clockUs?: number;
  /** Which edges carry the clock uncertainty: both (a server window) or only the start (received → bench reply). */
  clockEdges?: 'both' | 'start';
  /** The meter's measured refresh period, µs (null: not known); a shorter window is not measurable alone. */
  refreshUs?: number | null;
  /** Uncertainty of the baseline power, W (added to the isolated energy's uncertainty). */
  baselineUncertaintyW?: number;
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

function windowRecord(window: EnergyWindow): NonNullable<Energy['window']> {
  return { span: window.span ?? 'run', start_us: window.start_us, end_us: window.end_us };
}

function empty(method: Energy['method'], window: EnergyWindow, baselineW: number | null, note: string, samples = 0): Energy {
  return {
    method,
    window: windowRecord(window),
    samples,
    avg_power_w: null,
    energy_uwh: null,
    uncertainty_uwh: null,
    baseline_w: baselineW,
    isolated_energy_uwh: null,
    isolated_uncertainty_uwh: null,
    largest_hole_us: null,
    measurable: false,
    note,
  };
}

/** What limits an estimate over [a, b], in W·µs (docs/energy.md, "Uncertainty"). */
export interface ErrorBound {
  /** Interpolation across each pair of reads (and held values past the ends), W·µs. */
  sampling_wus: number;
  /** Quantisation of the samples' registers, W·µs. */
  resolution_wus: number;
  /** The clock offset's uncertainty moving the window against the series, W·µs. */
  clock_wus: number;
  /** Longest read start → next read end overlapping the window, µs. */
  largest_hole_us: number;
}

/** How far around a window power levels are looked at for a hole's worst case. */
const RANGE_AROUND_US = 500_000;
/** A pair of reads further apart than this many typical spans is a hole: anything seen nearby may hide in it. */
const HOLE_FACTOR = 2;

/**
 * Bounds |∫ true P − ∫ interpolant| over [a, b]. Sample k's value was latched somewhere in its read
 * [s_k, e_k], so between reads k and k+1 the power is unknown over [s_k, e_{k+1}]: if it changed at
 * most once there (the meter resolves the load's changes), the interpolant is off by at most
 * |P_{k+1} − P_k| over that span's overlap with the window. A pair further apart than HOLE_FACTOR
 * times the typical span is a hole, where anything in the local range of power (max − min within
 * RANGE_AROUND_US or the hole's length, whichever is longer) may have happened; the same holds past
 * the first or last sample. Quantisation adds max(resolution_w) · Δt; the clock moves the window by
 * up to ±clockUs: both edges together change E by at most clockUs · range, the start alone by
 * clockUs · P_max; a device refreshing slower than it is read lags by up to refreshUs · range. A power
 * excursion wholly inside a hole and unlike anything around it stays invisible.
 */
export function errorBound(samples: readonly Sample[], a: number, b: number, options: Pick<AttributionOptions, 'clockUs' | 'clockEdges' | 'refreshUs'> = {}): ErrorBound {
  const n = samples.length;
  // Pairs (k, k+1) whose span [s_k, e_{k+1}] can overlap [a, b]: k from the last read starting before a.
  const lo = Math.max(0, lowerBound(samples, a, (s) => s.t_end_us) - 1);
  let hi = lowerBound(samples, b, (s) => s.t_start_us);
  if (hi >= n) hi = n - 1;
  let largestHole = 0;
  let hasHole = false;
  const spans: number[] = [];
  let pMin = Infinity;
  let pMax = -Infinity;
  let resolution = 0;
  // The reads around the window: their spans give the typical one, their powers the local range.
  const near0 = Math.max(0, lo - 8);
  const near1 = Math.min(n - 1, hi + 8);
  for (let k = near0; k <= near1; k++) {
    const s = samples[k]!;
    if (k < near1) spans.push(samples[k + 1]!.t_end_us - s.t_start_us);
    if (s.power_w < pMin) pMin = s.power_w;
    if (s.power_w > pMax) pMax = s.power_w;
    if (k >= lo && k <= hi && s.resolution_w !== undefined && s.resolution_w > resolution) resolution = s.resolution_w;
  }
  const typical = spans.length ? median(spans) : 0;
  for (let k = lo; k < hi; k++) {
    const span = samples[k + 1]!.t_end_us - samples[k]!.t_start_us;
    if (Math.min(b, samples[k + 1]!.t_end_us) > Math.max(a, samples[k]!.t_start_us)) {
      largestHole = Math.max(largestHole, span);
      if (span > HOLE_FACTOR * typical) hasHole = true;
    }
  }
  const beyond = n > 0 && (a < samples[0]!.t_start_us || b > samples[n - 1]!.t_end_us);
  const refreshUs = options.refreshUs ?? 0;
  const slowDevice = refreshUs > typical;
  if (hasHole || beyond || slowDevice) {
    // Anything seen nearby may have happened in a hole or behind a stale value: widen the range to
    // RANGE_AROUND_US (or the hole, or the refresh period).
    const reach = Math.max(RANGE_AROUND_US, largestHole, refreshUs);
    for (let k = lowerBound(samples, a - reach, (x) => x.t_end_us); k < n && samples[k]!.t_start_us <= b + reach; k++) {
      const p = samples[k]!.power_w;
      if (p < pMin) pMin = p;
      if (p > pMax) pMax = p;
    }
  }
  if (!Number.isFinite(pMin)) {
    pMin = 0;
    pMax = 0;
  }
  const range = pMax - pMin;
  let wus = 0;
  for (let k = lo; k < hi; k++) {
    const s0 = samples[k]!;
    const s1 = samples[k + 1]!;
    const overlap = Math.min(b, s1.t_end_us) - Math.max(a, s0.t_start_us);
    if (overlap <= 0) continue;
    const span = s1.t_end_us - s0.t_start_us;
    const spread = span > HOLE_FACTOR * typical ? range : Math.abs(s1.power_w - s0.power_w);
    wus += overlap * spread;
  }
  // Past the ends of the series the nearest value is held: anything in the local range may differ.
  if (n > 0) {
    const before = Math.min(b, samples[0]!.t_start_us) - a;
    const after = b - Math.max(a, samples[n - 1]!.t_end_us);
    if (before > 0) wus += before * range;
    if (after > 0) wus += after * range;
    if (before > 0 || after > 0) largestHole = Math.max(largestHole, Math.max(before, 0) + Math.max(after, 0));
  }
  const clockUs = options.clockUs ?? 0;
  let clock = clockUs * (options.clockEdges === 'start' ? Math.max(0, pMax) : range);
  // A device that refreshes slower than it is read serves values up to one refresh old: the series
  // lags the truth by up to that much, like a clock offset on both edges.
  if (slowDevice) clock += refreshUs * range;
  return { sampling_wus: wus, resolution_wus: resolution * (b - a), clock_wus: clock, largest_hole_us: largestHole };
}

function totalWus(bound: ErrorBound): number {
  return bound.sampling_wus + bound.resolution_wus + bound.clock_wus;
}

/** The meter's limit for one window alone: the slower of its read interval and its refresh period. */
function measurableLimit(intervalUs: number | null, refreshUs: number | null | undefined): { us: number; what: string } | null {
  const r = refreshUs ?? null;
  if (intervalUs === null && r === null) return null;
  if (r !== null && (intervalUs === null || r > intervalUs)) return { us: r, what: 'refresh period' };
  return { us: intervalUs!, what: 'sampling interval' };
}

function shortNote(durationUs: number, limit: { us: number; what: string } | null): string | null {
  if (limit === null || durationUs >= limit.us) return null;
  return `window of ${Math.round(durationUs)} µs is shorter than the meter's ${limit.what} (${Math.round(limit.us)} µs): not measurable alone, the estimate is interpolated — use batch or stage energy (docs/energy.md, "Windows")`;
}

function finish(
  method: Energy['method'],
  window: EnergyWindow,
  used: number,
  avgW: number,
  energyUwh: number,
  bound: ErrorBound,
  baselineW: number | null,
  options: AttributionOptions,
  limit: { us: number; what: string } | null,
  notes: string[],
): Energy {
  const durationUs = window.end_us - window.start_us;
  const short = shortNote(durationUs, limit);
  if (short) notes.unshift(short);
  const uncertainty = totalWus(bound) * UWH_PER_W_US;
  return {
    method,
    window: windowRecord(window),
    samples: used,
    avg_power_w: avgW,
    energy_uwh: energyUwh,
    uncertainty_uwh: uncertainty,
    baseline_w: baselineW,
    // isolated = E − P_baseline · Δt
    isolated_energy_uwh: baselineW === null ? null : energyUwh - baselineW * durationUs * UWH_PER_W_US,
    isolated_uncertainty_uwh: baselineW === null ? null : uncertainty + (options.baselineUncertaintyW ?? 0) * durationUs * UWH_PER_W_US,
    largest_hole_us: bound.largest_hole_us,
    measurable: short === null,
    note: notes.length > 0 ? notes.join('; ') : null,
  };
}

/**
 * Integrated method: E = ∫ P dt over [start, end] (interpolating between samples, so every covered
 * window gets an estimate), avg = E / Δt, isolated = E − P_baseline · Δt, with the bound of
 * errorBound as uncertainty. A window that starts or ends more than one sampling interval beyond the
 * sampled span, or overlaps a gap, gets nulls and a note.
 */
export function attributeIntegrated(samples: readonly Sample[], window: EnergyWindow, baselineW: number | null, options: AttributionOptions = {}): Energy {
  const { start_us: start, end_us: end } = window;
  if (!(end >= start)) return empty('integrated', window, baselineW, `window ends (${end}) before it starts (${start})`);
  if (samples.length === 0) return empty('integrated', window, baselineW, 'no meter samples');
  const gap = options.gaps?.find((g) => g.from_us < end && g.to_us > start);
  if (gap) return empty('integrated', window, baselineW, `meter gap during the window (${gap.reason})`);
  const i = lowerBound(samples, start, instant);
  const intervalUs = options.intervalUs ?? localIntervalUs(samples, i);
  const hold = intervalUs ?? 0;
  const firstT = instant(samples[0]!);
  const lastT = instant(samples[samples.length - 1]!);
  if (start < firstT - hold || end > lastT + hold) {
    return empty('integrated', window, baselineW, `window [${start}, ${end}] not covered by samples (they span ${Math.round(firstT)}…${Math.round(lastT)})`);
  }
  const durationUs = end - start;
  const limit = measurableLimit(intervalUs, options.refreshUs);
  const bound = errorBound(samples, start, end, options);
  if (durationUs === 0) return finish('integrated', window, 1, powerAt(samples, start, i), 0, bound, baselineW, options, limit, ['zero-length window']);
  const { wus, used } = integratePower(samples, start, end);
  return finish('integrated', window, used, wus / durationUs, wus * UWH_PER_W_US, bound, baselineW, options, limit, []);
}

/**
 * Thesis method, kept for comparison: avg = mean of the samples read entirely inside the window
 * (start ≤ t_start and t_end ≤ end), E = avg · Δt. Windows without such a sample get nulls and a note
 * (the thesis dropped them). Its uncertainty: the range of power around the window over the whole
 * window (a mean of a few reads can be anywhere in it), plus quantisation and clock.
 */
export function attributeThesis(samples: readonly Sample[], window: EnergyWindow, baselineW: number | null, options: AttributionOptions = {}): Energy {
  const { start_us: start, end_us: end } = window;
  if (!(end >= start)) return empty('thesis', window, baselineW, `window ends (${end}) before it starts (${start})`);
  let sum = 0;
  let n = 0;
  let pMin = Infinity;
  let pMax = -Infinity;
  const first = lowerBound(samples, start, (s) => s.t_start_us);
  for (let k = Math.max(0, first - 1); k < samples.length; k++) {
    const s = samples[k]!;
    if (s.t_start_us > end) {
      pMin = Math.min(pMin, s.power_w);
      pMax = Math.max(pMax, s.power_w);
      break;
    }
    pMin = Math.min(pMin, s.power_w);
    pMax = Math.max(pMax, s.power_w);
    if (s.t_start_us >= start && s.t_end_us <= end) {
      sum += s.power_w;
      n++;
    }
  }
  const durationUs = end - start;
  const limit = measurableLimit(options.intervalUs ?? localIntervalUs(samples, first), options.refreshUs);
  if (n === 0) {
    const short = shortNote(durationUs, limit);
    return empty('thesis', window, baselineW, ['no sample read entirely inside the window (the thesis method drops it)', short].filter(Boolean).join('; '));
  }
  const avg = sum / n;
  const bound = errorBound(samples, start, end, options);
  const thesisBound: ErrorBound = { ...bound, sampling_wus: (pMax - pMin) * durationUs };
  return finish('thesis', window, n, avg, avg * durationUs * UWH_PER_W_US, thesisBound, baselineW, options, limit, []);
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
  const share = (x: number | null | undefined): number | null => (x === null || x === undefined ? null : x / count);
  return {
    ...whole,
    energy_uwh: share(whole.energy_uwh),
    uncertainty_uwh: share(whole.uncertainty_uwh),
    isolated_energy_uwh: share(whole.isolated_energy_uwh),
    isolated_uncertainty_uwh: share(whole.isolated_uncertainty_uwh),
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
  return { from_us: first.t_start_us, to_us: last.t_end_us, seconds: Math.max(0, last.t_end_us - first.t_start_us) / 1e6, samples: powers.length, power_w: m, spread_w: mad };
}

/** Samples sorted by instant (a copy); the sampler already yields them in order, merged series may not. */
export function sortSamples(samples: readonly Sample[]): Sample[] {
  return [...samples].sort((a, b) => instant(a) - instant(b));
}
