/**
 * Pure statistics for benchmark samples: arrays in, numbers out, no I/O.
 * Empty input gives NaN (never a throw), so a runtime with no successful invocation still renders as
 * "—" instead of breaking a report. Inputs are never mutated.
 */
import { Sfc32 } from './prng.js';
import { medianInPlace, rankGroups, resampleMedians } from './resample.js';

/** A numeric copy sorted ascending (Float64Array sorts numerically, and fast). */
export function sorted(xs: readonly number[]): Float64Array {
  return Float64Array.from(xs).sort();
}

/**
 * Quantile of an ascending-sorted sample by linear interpolation between order statistics —
 * Hyndman & Fan (1996) definition 7, the default of R's `quantile()` and NumPy's `percentile()`:
 * h = (n − 1)·p, Q(p) = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]) with 0-based x.
 */
export function quantileSorted(sortedXs: ArrayLike<number>, p: number): number {
  const n = sortedXs.length;
  if (n === 0 || !(p >= 0 && p <= 1)) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const x0 = sortedXs[lo] as number;
  if (lo + 1 >= n) return x0;
  const x1 = sortedXs[lo + 1] as number;
  return x0 + (h - lo) * (x1 - x0);
}

/** Quantile p ∈ [0, 1] of an unsorted sample (R type 7, see quantileSorted). */
export function quantile(xs: readonly number[], p: number): number {
  return quantileSorted(sorted(xs), p);
}

/** Median (the 0.5 quantile; the mean of the two middle values for even n). */
export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Arithmetic mean. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Sample variance with Bessel's correction (divides by n − 1); NaN for n < 2. Two-pass for accuracy. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) ** 2;
  return ss / (xs.length - 1);
}

/** Sample standard deviation, √variance (n − 1 denominator, as R's sd()). */
export function sd(xs: readonly number[]): number {
  return Math.sqrt(variance(xs));
}

/** Smallest value; NaN when empty. */
export function min(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let m = Infinity;
  for (const x of xs) if (x < m) m = x;
  return m;
}

/** Largest value; NaN when empty. */
export function max(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  return m;
}

/**
 * Median absolute deviation, unscaled: median(|x − median(x)|). Multiply by 1.4826 for a consistent
 * estimate of σ under normality (R's mad() does so by default; this function does not).
 */
export function mad(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

/** Iglewicz & Hoaglin's cut-off for the modified Z-score: |M| > 3.5 marks a potential outlier. */
export const OUTLIER_Z = 3.5;

/**
 * Modified Z-scores M = 0.6745·(x − median)/MAD (Iglewicz & Hoaglin 1993; hyperfine's
 * outlier_detection.rs uses the same score). Robust: one wild value cannot hide itself by inflating
 * the spread, as it would with mean/sd. When MAD is 0 (over half the values are equal), a value equal
 * to the median scores 0 and any other scores ±Infinity.
 */
export function modifiedZScores(xs: readonly number[]): number[] {
  const m = median(xs);
  const d = mad(xs);
  return xs.map((x) => {
    const dev = x - m;
    if (dev === 0) return 0;
    if (d === 0) return dev > 0 ? Infinity : -Infinity;
    return (0.6745 * dev) / d;
  });
}

/** Indices of the values whose |modified Z-score| exceeds `threshold` (default 3.5). */
export function outlierIndices(xs: readonly number[], threshold = OUTLIER_Z): number[] {
  const out: number[] = [];
  modifiedZScores(xs).forEach((z, i) => {
    if (Math.abs(z) > threshold) out.push(i);
  });
  return out;
}

/** The descriptive statistics every report figure is built from. */
export interface Describe {
  n: number;
  mean: number;
  sd: number;
  median: number;
  min: number;
  max: number;
  p5: number;
  p25: number;
  p75: number;
  p95: number;
  p99: number;
  /** Unscaled median absolute deviation. */
  mad: number;
  /** How many values are outliers by modified Z-score > 3.5 (kept in every figure, only counted). */
  outliers: number;
}

/** n, mean, sd, median, min/max, p5/p25/p75/p95/p99 (R type 7), MAD and the outlier count. */
export function describe(xs: readonly number[]): Describe {
  const s = sorted(xs);
  return {
    n: xs.length,
    mean: mean(xs),
    sd: sd(xs),
    median: quantileSorted(s, 0.5),
    min: s.length ? (s[0] as number) : NaN,
    max: s.length ? (s[s.length - 1] as number) : NaN,
    p5: quantileSorted(s, 0.05),
    p25: quantileSorted(s, 0.25),
    p75: quantileSorted(s, 0.75),
    p95: quantileSorted(s, 0.95),
    p99: quantileSorted(s, 0.99),
    mad: mad(xs),
    outliers: outlierIndices(xs).length,
  };
}

/** A point estimate with a two-sided confidence interval. */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
  /** Confidence level, e.g. 0.95. */
  level: number;
}

export interface BootstrapOptions {
  /** Number of bootstrap resamples (default 2000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** PRNG seed (default 1): the same data and seed always give the same interval. */
  seed?: number;
  /** Statistic of a sorted resample (default: the median). */
  statistic?: (sortedSample: Float64Array) => number;
}

const medianOfSorted = (s: Float64Array): number => quantileSorted(s, 0.5);

function resampleSorted(src: ArrayLike<number>, rng: Sfc32, into: Float64Array): Float64Array {
  const n = src.length;
  for (let i = 0; i < n; i++) into[i] = src[rng.index(n)] as number;
  return into.sort();
}

export { medianInPlace };

/**
 * Percentile-bootstrap confidence interval (Efron & Tibshirani 1993, ch. 13) for a statistic of one
 * sample, the median by default: resample with replacement B times, take the statistic of each, and
 * report the (1−level)/2 and (1+level)/2 quantiles of those B values. Needs no normality; with very
 * small n (the thesis' 6 repetitions) the interval is coarse and can be as wide as the data.
 */
export function bootstrapCI(xs: readonly number[], options: BootstrapOptions = {}): Interval {
  const { resamples = 2000, level = 0.95, seed = 1, statistic } = options;
  const estimate = (statistic ?? medianOfSorted)(sorted(xs));
  if (xs.length === 0) return { estimate: NaN, low: NaN, high: NaN, level };
  const rng = new Sfc32(seed);
  const stats = new Float64Array(resamples);
  if (statistic) {
    const buf = new Float64Array(xs.length);
    for (let b = 0; b < resamples; b++) stats[b] = statistic(resampleSorted(xs, rng, buf));
  } else {
    const ranked = rankGroups([xs]);
    const counts = new Int32Array(ranked.maxSize);
    const med = new Float64Array(1);
    for (let b = 0; b < resamples; b++) {
      resampleMedians(ranked, rng, counts, med);
      stats[b] = med[0] as number;
    }
  }
  stats.sort();
  return {
    estimate,
    low: quantileSorted(stats, (1 - level) / 2),
    high: quantileSorted(stats, (1 + level) / 2),
    level,
  };
}

/**
 * Percentile-bootstrap interval for the ratio statistic(a) / statistic(b) (default: ratio of medians),
 * resampling a and b independently, as they are independent samples of two runtimes. Used for
 * "Docker is N× Wasm" with its uncertainty. Ratios with a zero denominator are dropped from the
 * bootstrap distribution; NaN when either sample is empty.
 */
export function bootstrapRatioCI(
  a: readonly number[],
  b: readonly number[],
  options: BootstrapOptions = {},
): Interval {
  const { resamples = 2000, level = 0.95, seed = 1, statistic } = options;
  if (a.length === 0 || b.length === 0) return { estimate: NaN, low: NaN, high: NaN, level };
  const stat = statistic ?? medianOfSorted;
  const estimate = stat(sorted(a)) / stat(sorted(b));
  const rng = new Sfc32(seed);
  const ratios: number[] = [];
  if (statistic) {
    const bufA = new Float64Array(a.length);
    const bufB = new Float64Array(b.length);
    for (let i = 0; i < resamples; i++) {
      const r = statistic(resampleSorted(a, rng, bufA)) / statistic(resampleSorted(b, rng, bufB));
      if (Number.isFinite(r)) ratios.push(r);
    }
  } else {
    const ranked = rankGroups([a, b]);
    const counts = new Int32Array(ranked.maxSize);
    const med = new Float64Array(2);
    for (let i = 0; i < resamples; i++) {
      resampleMedians(ranked, rng, counts, med);
      const r = (med[0] as number) / (med[1] as number);
      if (Number.isFinite(r)) ratios.push(r);
    }
  }
  const s = sorted(ratios);
  return {
    estimate,
    low: quantileSorted(s, (1 - level) / 2),
    high: quantileSorted(s, (1 + level) / 2),
    level,
  };
}

/**
 * Complementary error function, Numerical Recipes' `erfcc` (Chebyshev fit; fractional error below
 * 1.2e-7 everywhere), enough for p-values reported to 2–3 significant digits.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF Φ(z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Result of a Mann–Whitney U test of sample a against sample b. */
export interface MannWhitney {
  n1: number;
  n2: number;
  /** U of sample a: the number of (a, b) pairs with a > b, ties counting ½. */
  u1: number;
  /** U of sample b = n1·n2 − u1. */
  u2: number;
  /** Normal-approximation z (tie- and continuity-corrected); 0 when every value is tied. */
  z: number;
  /** Two-sided p-value. */
  p: number;
  /** Common-language effect size u1/(n1·n2): P(a > b) + ½P(a = b). */
  effect: number;
}

/**
 * Two-sided Mann–Whitney U test (Wilcoxon rank-sum) with the normal approximation, tie correction
 * of the variance and a continuity correction of ½ — the same as R's `wilcox.test(a, b, exact=FALSE,
 * correct=TRUE)` and SciPy's `mannwhitneyu(a, b, method="asymptotic")`:
 *   U1 = R1 − n1(n1+1)/2,  σ² = n1·n2/12 · ((n+1) − Σ(t³−t)/(n(n−1))),  z = (U1 − n1n2/2 ∓ ½)/σ.
 * Chosen over Welch's t because latencies are skewed and heavy-tailed: ranks make no normality
 * assumption and one 10-second outlier cannot swing it.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitney {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { n1, n2, u1: NaN, u2: NaN, z: NaN, p: NaN, effect: NaN };
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const n = n1 + n2;
  let r1 = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++;
    const rank = (i + j) / 2 + 1; // average of ranks i+1 … j+1
    const t = j - i + 1;
    if (t > 1) tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if ((all[k] as { g: number }).g === 0) r1 += rank;
    i = j + 1;
  }
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const effect = u1 / (n1 * n2);
  if (!(sigma > 0)) return { n1, n2, u1, u2, z: 0, p: 1, effect };
  const diff = u1 - mu;
  const z = (diff - Math.sign(diff) * 0.5) / sigma;
  const p = Math.min(1, 2 * normalCdf(-Math.abs(z)));
  return { n1, n2, u1, u2, z, p, effect };
}

/**
 * The thesis' aggregate: the median over groups (inputs) of each group's median. Empty groups are
 * left out; NaN when none has a value.
 */
export function medianOfMedians(groups: readonly (readonly number[])[]): number {
  return median(groups.filter((g) => g.length > 0).map((g) => median(g)));
}

/**
 * Percentile-bootstrap interval for medianOfMedians(a) / medianOfMedians(b), resampling invocations
 * within each group (input) independently for both samples — a stratified bootstrap: the set of
 * inputs is fixed by the suite, the repetitions of each input are the random part.
 */
export function bootstrapMedianOfMediansRatioCI(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  options: Omit<BootstrapOptions, 'statistic'> = {},
): Interval {
  const { resamples = 2000, level = 0.95, seed = 1 } = options;
  const ga = a.filter((g) => g.length > 0);
  const gb = b.filter((g) => g.length > 0);
  if (ga.length === 0 || gb.length === 0) return { estimate: NaN, low: NaN, high: NaN, level };
  const estimate = medianOfMedians(ga) / medianOfMedians(gb);
  const rng = new Sfc32(seed);
  const ra = rankGroups(ga);
  const rb = rankGroups(gb);
  const counts = new Int32Array(Math.max(ra.maxSize, rb.maxSize));
  const medsA = new Float64Array(ga.length);
  const medsB = new Float64Array(gb.length);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) {
    resampleMedians(ra, rng, counts, medsA);
    resampleMedians(rb, rng, counts, medsB);
    const r = medianInPlace(medsA) / medianInPlace(medsB);
    if (Number.isFinite(r)) ratios.push(r);
  }
  const s = sorted(ratios);
  return { estimate, low: quantileSorted(s, (1 - level) / 2), high: quantileSorted(s, (1 + level) / 2), level };
}
