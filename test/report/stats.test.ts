import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapCI,
  bootstrapRatioCI,
  describe as describeSample,
  mad,
  mannWhitneyU,
  mean,
  median,
  modifiedZScores,
  normalCdf,
  outlierIndices,
  quantile,
  sd,
} from '../../src/report/stats.js';
import { createRng, normal } from '../../src/report/prng.js';

const close = (actual: number, expected: number, tol = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not ${expected} ± ${tol}`);

test('quantile matches R type 7 (numpy.quantile default) on a textbook sample', () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  // R: quantile(c(2,4,4,4,5,5,7,9), c(.05,.25,.5,.75,.95,.99)) → 2.70 4.00 4.50 5.50 8.30 8.86
  const expected = [2.7, 4, 4.5, 5.5, 8.3, 8.86];
  [0.05, 0.25, 0.5, 0.75, 0.95, 0.99].forEach((p, i) => close(quantile(xs, p), expected[i] as number));
  const ys = [1.2, 3.4, 0.5, 10.0, 7.7, 2.2, 5.5]; // unsorted on purpose
  const expectedY = [0.71, 1.7, 3.4, 6.6, 9.31, 9.862];
  [0.05, 0.25, 0.5, 0.75, 0.95, 0.99].forEach((p, i) => close(quantile(ys, p), expectedY[i] as number));
  assert.deepEqual(ys, [1.2, 3.4, 0.5, 10.0, 7.7, 2.2, 5.5], 'input was mutated');
  assert.equal(quantile([42], 0.99), 42);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('mean, sd (n−1) and median of the classic 2,4,4,4,5,5,7,9 example', () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  assert.equal(mean(xs), 5);
  close(sd(xs), 2.138089935299395, 1e-12); // population sd would be 2 — this must be the sample sd
  assert.equal(median(xs), 4.5);
  assert.equal(median([3, 1, 2]), 2);
  assert.ok(Number.isNaN(sd([1])));
  assert.ok(Number.isNaN(mean([])));
});

test('MAD is unscaled and modified Z-scores flag the one wild value only', () => {
  const xs = [1, 2, 3, 4, 100];
  assert.equal(mad(xs), 1); // |x−3| = 2,1,0,1,97 → median 1
  const z = modifiedZScores(xs);
  close(z[4] as number, 0.6745 * 97, 1e-12);
  assert.deepEqual(outlierIndices(xs), [4]);
  // MAD 0: more than half the values equal; the others are infinitely far in MAD units.
  assert.deepEqual(outlierIndices([5, 5, 5, 5, 6]), [4]);
  assert.deepEqual(outlierIndices([5, 5, 5]), []);
});

test('describe gathers n, quantiles, min/max and the outlier count', () => {
  const d = describeSample([1, 2, 3, 4, 100]);
  assert.equal(d.n, 5);
  assert.equal(d.min, 1);
  assert.equal(d.max, 100);
  assert.equal(d.median, 3);
  assert.equal(d.p25, 2);
  assert.equal(d.p75, 4);
  assert.equal(d.outliers, 1);
  const empty = describeSample([]);
  assert.equal(empty.n, 0);
  assert.ok(Number.isNaN(empty.median) && Number.isNaN(empty.min));
});

test('Mann–Whitney U: U counted by hand and p equal to SciPy asymptotic (continuity-corrected)', () => {
  // Pairs with a > b: 19→3, 22→4, 16→2, 29→4, 24→4 → U1 = 17, U2 = 20 − 17 = 3.
  const r = mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12]);
  assert.equal(r.u1, 17);
  assert.equal(r.u2, 3);
  // scipy.stats.mannwhitneyu(a, b, method='asymptotic') → p = 0.11134688653314041
  close(r.p, 0.11134688653314041, 2e-7);
  close(r.effect, 17 / 20, 1e-12);
});

test('Mann–Whitney U corrects the variance for ties', () => {
  const a = [1.1, 2.2, 2.2, 3.3, 4.4, 5.5, 5.5, 6.6];
  const b = [2.2, 3.3, 3.3, 7.7, 8.8, 9.9, 9.9, 10.1, 11.2];
  const r = mannWhitneyU(a, b);
  assert.equal(r.u1, 15);
  close(r.p, 0.04716530806571235, 2e-7); // SciPy asymptotic, ties corrected
  const tied = mannWhitneyU([3, 3, 3], [3, 3]);
  assert.equal(tied.p, 1);
  assert.ok(Number.isNaN(mannWhitneyU([], [1]).p));
});

test('normalCdf agrees with known values of Φ', () => {
  close(normalCdf(0), 0.5, 1e-7);
  close(normalCdf(1.959963984540054), 0.975, 1e-7);
  close(normalCdf(-3), 0.0013498980316301, 1e-9);
});

test('the bootstrap CI is reproducible for a seed and contains the median', () => {
  const xs = [12, 15, 11, 19, 14, 13, 16, 18, 12, 400];
  const a = bootstrapCI(xs, { seed: 7 });
  const b = bootstrapCI(xs, { seed: 7 });
  assert.deepEqual(a, b);
  assert.equal(a.estimate, 14.5);
  assert.ok(a.low <= a.estimate && a.estimate <= a.high, JSON.stringify(a));
  assert.ok(a.high < 400, 'one outlier must not drag the median interval to it');
  assert.notDeepEqual(bootstrapCI(xs, { seed: 8 }), a);
});

test('the 95% bootstrap CI of the median covers the true median in 88–99% of 200 seeded trials', () => {
  // Log-normal samples (skewed like latencies): true median = exp(μ) = exp(1).
  const rng = createRng(2024);
  const trueMedian = Math.exp(1);
  let covered = 0;
  const trials = 200;
  for (let t = 0; t < trials; t++) {
    const xs = Array.from({ length: 40 }, () => Math.exp(1 + 0.8 * normal(rng)));
    const ci = bootstrapCI(xs, { seed: t + 1, resamples: 1000 });
    if (ci.low <= trueMedian && trueMedian <= ci.high) covered++;
  }
  const coverage = covered / trials;
  assert.ok(coverage >= 0.88 && coverage <= 0.99, `coverage ${coverage}`);
});

test('the ratio CI covers the true ratio of medians in 88–99% of 200 seeded trials', () => {
  const rng = createRng(99);
  const trueRatio = Math.exp(6) / Math.exp(1); // docker-like vs wasm-like medians
  let covered = 0;
  for (let t = 0; t < 200; t++) {
    const docker = Array.from({ length: 30 }, () => Math.exp(6 + 0.3 * normal(rng)));
    const wasm = Array.from({ length: 30 }, () => Math.exp(1 + 0.5 * normal(rng)));
    const ci = bootstrapRatioCI(docker, wasm, { seed: t + 1, resamples: 1000 });
    if (ci.low <= trueRatio && trueRatio <= ci.high) covered++;
  }
  const coverage = covered / 200;
  assert.ok(coverage >= 0.88 && coverage <= 0.99, `coverage ${coverage}`);
});

test('bootstrapRatioCI estimates the ratio of medians exactly', () => {
  const ci = bootstrapRatioCI([400, 410, 390], [1, 2, 3]);
  assert.equal(ci.estimate, 200);
  assert.ok(ci.low <= 200 && ci.high >= 200);
  assert.ok(Number.isNaN(bootstrapRatioCI([], [1]).estimate));
});

test('the PRNG is deterministic per seed and uniform-looking', () => {
  const a = createRng(1);
  const b = createRng(1);
  const xs = Array.from({ length: 10_000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  close(mean(xs), 0.5, 0.02);
});

test('medianInPlace (quickselect) equals the sorted median on random, tied and tiny samples', async () => {
  const { medianInPlace } = await import('../../src/report/stats.js');
  const rng = createRng(5);
  for (let t = 0; t < 300; t++) {
    const n = 1 + Math.floor(rng() * 40);
    const xs = Array.from({ length: n }, () => (t % 3 === 0 ? Math.floor(rng() * 4) : rng() * 1000));
    assert.equal(medianInPlace(Float64Array.from(xs)), median(xs), `n=${n} ${xs.join(',')}`);
  }
  assert.ok(Number.isNaN(medianInPlace(new Float64Array(0))));
});
