/**
 * The bootstrap's inner loops (stats.ts builds the intervals on top): medians of resamples drawn with
 * replacement, computed from ranks instead of copied and selected values.
 *
 * Why ranks: with the sample sorted once, the k-th smallest value of a resample is the sorted value at
 * the k-th smallest *rank* drawn, so a resample's median needs only a count per rank (n increments and
 * a scan to the middle) — no copy of the values, no sort or selection, no allocation. The draws are
 * the ones the copy-and-select version made (same PRNG stream, same index per draw, the index mapped
 * to its rank), so the medians, and every interval built from them, are bit-identical to it.
 * With the PRNG's state in a typed array (prng.ts) this took the serial bootstrap of a thesis-sized
 * report (13,524 invocations, 2000 resamples) from ~19 s to ~3 s; see docs/performance.md, "Report".
 */
import type { Sfc32 } from './prng.js';

/**
 * Several samples (strata) prepared for resampling: per group the values sorted ascending, and per
 * original position its rank in that order — stored flat, group g at [offsets[g], offsets[g + 1]).
 */
export interface RankedGroups {
  sorted: Float64Array;
  ranks: Int32Array;
  offsets: Int32Array;
  /** Size of the largest group: the length a count buffer needs. */
  maxSize: number;
}

/** Ranks `groups` (each in its original order; empty groups are kept, with size 0). */
export function rankGroups(groups: readonly (readonly number[])[]): RankedGroups {
  let total = 0;
  let maxSize = 0;
  for (const g of groups) {
    total += g.length;
    if (g.length > maxSize) maxSize = g.length;
  }
  const sorted = new Float64Array(total);
  const ranks = new Int32Array(total);
  const offsets = new Int32Array(groups.length + 1);
  const order = new Int32Array(maxSize);
  let off = 0;
  groups.forEach((g, gi) => {
    const n = g.length;
    offsets[gi] = off;
    const idx = order.subarray(0, n);
    for (let i = 0; i < n; i++) idx[i] = i;
    idx.sort((i, j) => (g[i] as number) - (g[j] as number) || i - j);
    for (let r = 0; r < n; r++) {
      const i = idx[r] as number;
      sorted[off + r] = g[i] as number;
      ranks[off + i] = r;
    }
    off += n;
  });
  offsets[groups.length] = off;
  return { sorted, ranks, offsets, maxSize };
}

/**
 * Fills out[g] with the median of one resample (size-n draws with replacement) of every group g in
 * turn, drawing from `rng` exactly as `values[rng.index(n)]` n times per group would. `counts` must be
 * zero on entry (at least maxSize long) and is zero again on return. An empty group gives NaN.
 */
export function resampleMedians(rg: RankedGroups, rng: Sfc32, counts: Int32Array, out: Float64Array): void {
  const { sorted, ranks, offsets } = rg;
  const groups = offsets.length - 1;
  let off = offsets[0] as number;
  for (let g = 0; g < groups; g++) {
    const end = offsets[g + 1] as number;
    const n = end - off;
    if (n === 0) {
      out[g] = NaN;
      continue;
    }
    for (let j = 0; j < n; j++) {
      const r = ranks[off + rng.index(n)] as number;
      counts[r] = (counts[r] as number) + 1;
    }
    // The median is the k-th smallest draw (0-based, k = n>>1) for odd n, and the mean of the
    // (k−1)-th and the k-th for even n (as quantileSorted gives). With cum(r) = draws of rank ≤ r, the
    // (k−1)-th draw has the first rank where cum ≥ k; the k-th, the first where cum > k.
    const k = n >> 1;
    let lowerRank = 0;
    let upperRank = 0;
    if (n <= 64) {
      // Small groups (the repetitions of one input): count both ranks branch-free over all n ranks
      // while zeroing — a data-dependent early exit mispredicts on every group; this loop does not.
      let cum = 0;
      for (let r = 0; r < n; r++) {
        cum += counts[r] as number;
        counts[r] = 0;
        lowerRank -= (cum - k) >> 31; // +1 while cum < k
        upperRank -= (cum - k - 1) >> 31; // +1 while cum ≤ k
      }
    } else {
      // Large groups: stop at the middle and clear with a memset.
      let cum = counts[0] as number;
      while (cum < k) cum += counts[++lowerRank] as number;
      upperRank = lowerRank;
      while (cum <= k) cum += counts[++upperRank] as number;
      counts.fill(0, 0, n);
    }
    const upper = sorted[off + upperRank] as number;
    out[g] = n % 2 === 1 ? upper : ((sorted[off + lowerRank] as number) + upper) / 2;
    off = end;
  }
}

/** Rearranges `a` so that a[k] is its k-th smallest value (Hoare's quickselect, expected O(n)). */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k] as number;
}

/**
 * Median of `a` in expected O(n), reordering `a`. Same value as quantileSorted(sorted(a), 0.5).
 * Used on the per-input medians of a stratified resample.
 */
export function medianInPlace(a: Float64Array): number {
  const n = a.length;
  if (n === 0) return NaN;
  const k = n >> 1;
  const upper = select(a, k);
  if (n % 2 === 1) return upper;
  let lower = -Infinity;
  for (let i = 0; i < k; i++) if ((a[i] as number) > lower) lower = a[i] as number;
  return (lower + upper) / 2;
}
