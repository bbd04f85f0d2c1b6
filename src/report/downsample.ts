/**
 * Downsampling of long power timelines for charts. A run at 500 samples/s for an hour has 1.8 M
 * samples; a chart is ~1000 px wide, so per pixel-wide bucket we keep the minimum and the maximum
 * (in time order): every spike stays visible, which averaging or LTTB's single point may hide.
 */

/** A point of a time series: [x, y]. */
export type Point = [number, number];

/**
 * Min/max-per-bucket downsampling of points sorted by x into at most 2·buckets points (first and last
 * points kept). Series already that short are returned as a copy.
 */
export function downsampleMinMax(points: readonly Point[], buckets: number): Point[] {
  if (points.length <= 2 * buckets || buckets < 1) return points.map((p) => [p[0], p[1]]);
  const first = points[0] as Point;
  const last = points[points.length - 1] as Point;
  const span = last[0] - first[0] || 1;
  const out: Point[] = [];
  let i = 0;
  for (let b = 0; b < buckets; b++) {
    const end = b === buckets - 1 ? Infinity : first[0] + (span * (b + 1)) / buckets;
    let lo: Point | undefined;
    let hi: Point | undefined;
    for (; i < points.length && (points[i] as Point)[0] < end; i++) {
      const p = points[i] as Point;
      if (!lo || p[1] < lo[1]) lo = p;
      if (!hi || p[1] > hi[1]) hi = p;
    }
    if (!lo || !hi) continue;
    if (lo === hi) out.push([lo[0], lo[1]]);
    else if (lo[0] <= hi[0]) out.push([lo[0], lo[1]], [hi[0], hi[1]]);
    else out.push([hi[0], hi[1]], [lo[0], lo[1]]);
  }
  return out;
}

/**
 * Merges time windows [from, to] (sorted by from) that lie closer than `minGap` to each other, so a
 * timeline of 100 000 invocations draws as a few thousand shaded spans. Keeps `key` apart.
 */
export function mergeWindows<K>(windows: readonly { from: number; to: number; key: K }[], minGap: number): { from: number; to: number; key: K }[] {
  const out: { from: number; to: number; key: K }[] = [];
  for (const w of windows) {
    const prev = out[out.length - 1];
    if (prev && prev.key === w.key && w.from - prev.to < minGap) prev.to = Math.max(prev.to, w.to);
    else out.push({ from: w.from, to: w.to, key: w.key });
  }
  return out;
}
