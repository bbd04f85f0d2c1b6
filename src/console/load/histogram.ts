/**
 * A log-linear histogram of latencies for the live status of a load stage (the TUI's p50/p99 while the
 * stage runs). Sorting every latency so far twice a second grew with the stage — at 20,000 req/s a
 * minute-long stage holds 1.2 M of them — so the live figures come from here: recording is O(1) and a
 * quantile walks at most a few thousand buckets. Each power of two of µs is cut into 128 buckets, so a
 * quantile is within 1/128 (< 0.8 %) of an order statistic; values below 128 µs are exact. The
 * stage's record in stages.jsonl keeps exact quantiles of the sorted latencies (tally.ts).
 */

/** Sub-buckets per power of two. */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;

/** The bucket of a non-negative integer value. */
function bucketOf(v: number): number {
  if (v < SUB) return v;
  const exp = 31 - Math.clz32(v); // ≥ SUB_BITS
  return (exp - SUB_BITS + 1) * SUB + ((v >>> (exp - SUB_BITS)) & (SUB - 1));
}

/** The smallest value a bucket holds. */
function lowestOf(bucket: number): number {
  if (bucket < SUB) return bucket;
  const exp = Math.floor(bucket / SUB) + SUB_BITS - 1;
  return (SUB + (bucket % SUB)) * 2 ** (exp - SUB_BITS);
}

/** Largest value recorded as itself (µs, ~35 minutes); beyond it values count in the last bucket. */
const MAX = 2 ** 31 - 1;

export class LatencyHistogram {
  #counts = new Float64Array(bucketOf(MAX) + 1);
  #n = 0;

  get count(): number {
    return this.#n;
  }

  record(us: number): void {
    const v = us <= 0 ? 0 : us >= MAX ? MAX : Math.round(us);
    this.#counts[bucketOf(v)]!++;
    this.#n++;
  }

  /**
   * The value of rank ⌈p·n⌉ (nearest rank), as the lower edge of its bucket; NaN when empty. Within
   * 1/128 of the exact order statistic, and exact below 128 µs.
   */
  quantile(p: number): number {
    if (this.#n === 0 || !(p >= 0 && p <= 1)) return NaN;
    const rank = Math.max(1, Math.ceil(p * this.#n));
    let seen = 0;
    const counts = this.#counts;
    for (let b = 0; b < counts.length; b++) {
      seen += counts[b]!;
      if (seen >= rank) return lowestOf(b);
    }
    return lowestOf(counts.length - 1);
  }
}
