import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram } from '../../../src/console/load/histogram.js';
import { createRng } from '../../../src/report/prng.js';

/** Nearest-rank quantile of a sorted sample, the histogram's definition. */
const nearestRank = (xs: Float64Array, p: number): number => xs[Math.max(1, Math.ceil(p * xs.length)) - 1]!;

test('live quantiles from the histogram are within 1/128 of the exact nearest-rank quantile, below it, over six decades of latency', () => {
  const rng = createRng(7);
  const h = new LatencyHistogram();
  // Log-uniform from 1 µs to ~17 minutes, with a heavy tail.
  const xs = Float64Array.from({ length: 50_000 }, () => Math.round(Math.exp(rng() * Math.log(1e9))));
  for (const x of xs) h.record(x);
  xs.sort();
  assert.equal(h.count, xs.length);
  for (const p of [0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1]) {
    const exact = nearestRank(xs, p);
    const got = h.quantile(p);
    assert.ok(got <= exact && got >= exact * (1 - 1 / 128), `p${p * 100}: ${got} for exact ${exact}`);
  }
});

test('values below 256 µs are exact; nothing recorded is NaN; out-of-range values are clamped, not lost', () => {
  const h = new LatencyHistogram();
  assert.ok(Number.isNaN(h.quantile(0.5)));
  for (const v of [3, 200, 255]) h.record(v);
  assert.equal(h.quantile(0), 3);
  assert.equal(h.quantile(0.5), 200);
  assert.equal(h.quantile(1), 255);
  h.record(-5);
  h.record(1e15);
  assert.equal(h.count, 5);
  assert.equal(h.quantile(0), 0);
  assert.ok(h.quantile(1) > 2e9);
});
