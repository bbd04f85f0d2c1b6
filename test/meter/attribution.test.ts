import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sample } from '../../src/protocol/results.js';
import { attributeBatch, attributeIntegrated, attributeThesis, estimateBaseline, integratePower } from '../../src/meter/attribution.js';

/** A sampler's series: reads every `dt` µs taking `readUs`, each sample = P at its read's midpoint. */
function series(power: (t: number) => number, from: number, to: number, dt = 1000, readUs = 400): Sample[] {
  const out: Sample[] = [];
  for (let t0 = from; t0 <= to; t0 += dt) out.push({ t_start_us: t0, t_end_us: t0 + readUs, power_w: power(t0 + readUs / 2) });
  return out;
}
const UWH = 1 / 3600; // µWh per W·µs
const T0 = 1_700_000_000_000_000;

function near(actual: number | null, expected: number, relative: number, what: string): void {
  assert.ok(actual !== null, `${what}: null`);
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * relative, `${what}: ${actual} vs ${expected} (tolerance ${relative * 100}%)`);
}

test('constant power: the integrated energy is exactly P × duration in µWh', () => {
  const s = series(() => 5, T0, T0 + 100_000);
  const e = attributeIntegrated(s, { start_us: T0 + 10_123, end_us: T0 + 60_123 }, null);
  assert.equal(e.method, 'integrated');
  near(e.energy_uwh, 5 * 50_000 * UWH, 1e-12, 'energy');
  near(e.avg_power_w, 5, 1e-12, 'avg');
  assert.equal(e.note, null);
  assert.equal(e.isolated_energy_uwh, null);
});

test('a linear ramp is integrated exactly (the interpolant is linear)', () => {
  const p = (t: number): number => 2 + (t - T0) * 1e-5; // 2 W rising 10 W per second
  const s = series(p, T0, T0 + 200_000);
  const a = T0 + 20_050;
  const b = T0 + 170_777;
  const truth = (2 * (b - a) + 0.5e-5 * ((b - T0) ** 2 - (a - T0) ** 2)) * UWH;
  near(attributeIntegrated(s, { start_us: a, end_us: b }, null).energy_uwh, truth, 1e-9, 'ramp');
});

test('a sine much slower than the sampling is within 1% over 10 sample intervals', () => {
  const w = (2 * Math.PI) / 40_000; // period 40 sampling intervals
  const p = (t: number): number => 3 + 1.5 * Math.sin(w * (t - T0));
  const s = series(p, T0, T0 + 400_000);
  for (const a of [T0 + 3_333, T0 + 17_000, T0 + 101_500]) {
    const b = a + 10_000;
    const truth = (3 * (b - a) - (1.5 / w) * (Math.cos(w * (b - T0)) - Math.cos(w * (a - T0)))) * UWH;
    near(attributeIntegrated(s, { start_us: a, end_us: b }, null).energy_uwh, truth, 0.01, `sine at ${a - T0}`);
  }
});

test('a spike one sampling interval wide around a sample is counted in full', () => {
  const spikeAt = T0 + 50_200; // the midpoint of the read starting at +50 000
  const p = (t: number): number => (Math.abs(t - spikeAt) < 500 ? 2 + 40 : 2);
  const s = series(p, T0, T0 + 100_000);
  const a = T0 + 40_000;
  const b = T0 + 60_000;
  const truth = (2 * (b - a) + 40 * 1000) * UWH;
  near(attributeIntegrated(s, { start_us: a, end_us: b }, null).energy_uwh, truth, 0.01, 'spike');
});

test('a power step is smeared over one interval: error at most ΔP·Δt/2, within 1% over 100 intervals', () => {
  for (const offset of [0, 137, 500, 861]) {
    const step = T0 + 30_200 + offset;
    const p = (t: number): number => (t < step ? 2 : 6);
    const s = series(p, T0, T0 + 200_000);
    const a = T0 + 25_000;
    for (const len of [10_000, 100_000]) {
      const b = a + len;
      const truthWus = 2 * (step - a) + 6 * (b - step);
      const got = integratePower(s, a, b).wus;
      assert.ok(Math.abs(got - truthWus) <= (4 * 1000) / 2 + 1e-6, `offset ${offset}: error ${got - truthWus} W·µs`);
      if (len === 100_000) near(got, truthWus, 0.01, `step, offset ${offset}`);
    }
  }
});

test('baseline: median and MAD ignore an outlier; isolated energy = E − P_baseline · Δt', () => {
  const idle = [2.0, 2.1, 1.9, 2.0, 2.2, 1.8, 50].map((power_w, i) => ({ t_start_us: T0 + i * 1000, t_end_us: T0 + i * 1000 + 400, power_w }));
  const base = estimateBaseline(idle);
  assert.deepEqual({ ...base, spread_w: null }, { from_us: T0, to_us: T0 + 6400, seconds: 0.0064, samples: 7, power_w: 2.0, spread_w: null });
  near(base.spread_w, 0.1, 1e-9, 'MAD');
  const s = series(() => 3.5, T0, T0 + 100_000);
  const e = attributeIntegrated(s, { start_us: T0 + 10_000, end_us: T0 + 46_000 }, base.power_w);
  assert.equal(e.baseline_w, 2);
  near(e.isolated_energy_uwh, 1.5 * 36_000 * UWH, 1e-9, 'isolated');
  assert.deepEqual(estimateBaseline([]), { seconds: 0, samples: 0, power_w: null, spread_w: null });
});

test('a window shorter than the sampling interval still gets an estimate, marked not measurable alone', () => {
  const s = series(() => 4, T0, T0 + 100_000, 2000);
  const e = attributeIntegrated(s, { start_us: T0 + 10_500, end_us: T0 + 10_800 }, null);
  near(e.energy_uwh, 4 * 300 * UWH, 1e-9, 'short window');
  assert.match(e.note ?? '', /shorter than the meter's sampling interval \(2000 µs\): not measurable alone/);
  assert.equal(e.measurable, false);
  assert.ok(attributeIntegrated(s, { start_us: T0 + 10_500, end_us: T0 + 30_500 }, null).measurable);
  assert.equal(e.samples, 2, 'the two bracketing samples');
});

test('the thesis method averages only samples read entirely inside the window and drops short windows', () => {
  const s = series((t) => (t < T0 + 5000 ? 2 : 4), T0, T0 + 20_000);
  const inside = attributeThesis(s, { start_us: T0 + 4_000, end_us: T0 + 7_500 }, 1);
  // Reads starting at +4000 (P=2, ends 4400), +5000, +6000 (P=4) lie inside; +7000 ends at 7400 → inside too.
  assert.equal(inside.samples, 4);
  near(inside.avg_power_w, (2 + 4 + 4 + 4) / 4, 1e-12, 'thesis avg');
  near(inside.energy_uwh, 3.5 * 3500 * UWH, 1e-12, 'thesis energy');
  near(inside.isolated_energy_uwh, 2.5 * 3500 * UWH, 1e-12, 'thesis isolated');
  const short = attributeThesis(s, { start_us: T0 + 4_100, end_us: T0 + 4_600 }, null);
  assert.equal(short.samples, 0);
  assert.equal(short.energy_uwh, null);
  assert.match(short.note ?? '', /no sample read entirely inside the window/);
  assert.match(short.note ?? '', /shorter than the meter's sampling interval/);
});

test('edge cases: no samples, zero length, reversed, before the first and after the last sample, gap', () => {
  const s = series(() => 3, T0 + 10_000, T0 + 20_000);
  assert.deepEqual(attributeIntegrated([], { start_us: T0, end_us: T0 + 10 }, 2), {
    method: 'integrated', window: { span: 'run', start_us: T0, end_us: T0 + 10 }, samples: 0, avg_power_w: null, energy_uwh: null, uncertainty_uwh: null,
    baseline_w: 2, isolated_energy_uwh: null, isolated_uncertainty_uwh: null, largest_hole_us: null, measurable: false, note: 'no meter samples',
  });
  const zero = attributeIntegrated(s, { start_us: T0 + 15_000, end_us: T0 + 15_000 }, 1);
  assert.equal(zero.energy_uwh, 0);
  assert.equal(zero.isolated_energy_uwh, 0);
  assert.equal(zero.avg_power_w, 3);
  assert.match(zero.note ?? '', /zero-length window/);
  assert.match(attributeIntegrated(s, { start_us: T0 + 15_000, end_us: T0 + 14_000 }, null).note ?? '', /ends .* before it starts/);
  const before = attributeIntegrated(s, { start_us: T0, end_us: T0 + 5_000 }, null);
  assert.equal(before.energy_uwh, null);
  assert.match(before.note ?? '', /not covered by samples/);
  const after = attributeIntegrated(s, { start_us: T0 + 25_000, end_us: T0 + 26_000 }, null);
  assert.equal(after.energy_uwh, null);
  // Within one interval of the last sample the last value is held (the next sample may not be in yet).
  near(attributeIntegrated(s, { start_us: T0 + 20_000, end_us: T0 + 20_900 }, null).energy_uwh, 3 * 900 * UWH, 1e-12, 'held');
  const gapped = attributeIntegrated(s, { start_us: T0 + 12_000, end_us: T0 + 18_000 }, null, {
    gaps: [{ gap: true, from_us: T0 + 17_000, to_us: T0 + 19_000, reason: 'timeout' }],
  });
  assert.equal(gapped.energy_uwh, null);
  assert.equal(gapped.note, 'meter gap during the window (timeout)');
  assert.equal(attributeThesis([], { start_us: T0, end_us: T0 + 10 }, null).energy_uwh, null);
});

test('a batch of N back-to-back invocations gets 1/N of the window each', () => {
  const s = series(() => 4, T0, T0 + 100_000);
  const whole = attributeIntegrated(s, { start_us: T0 + 1000, end_us: T0 + 81_000 }, 3);
  const each = attributeBatch(s, { start_us: T0 + 1000, end_us: T0 + 81_000 }, 8, 3);
  near(each.energy_uwh, whole.energy_uwh! / 8, 1e-12, 'batch energy');
  near(each.isolated_energy_uwh, (1 * 80_000 * UWH) / 8, 1e-9, 'batch isolated');
  assert.equal(each.avg_power_w, whole.avg_power_w);
  assert.equal(each.note, 'per-invocation share of a batch of 8');
  const thesis = attributeBatch(s, { start_us: T0 + 1000, end_us: T0 + 81_000 }, 8, 3, { method: 'thesis' });
  assert.equal(thesis.method, 'thesis');
  near(thesis.energy_uwh, (4 * 80_000 * UWH) / 8, 1e-9, 'thesis batch');
  assert.match(attributeBatch(s, { start_us: T0, end_us: T0 + 1 }, 0, null).note ?? '', /not a positive integer/);
});

test('attribution binary-searches: a window in a long series touches a few dozen samples, not all', () => {
  const s = series(() => 2, T0, T0 + 200_000_000, 1000); // 200 001 samples
  let reads = 0;
  const counted = new Proxy(s, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  const e = attributeIntegrated(counted, { start_us: T0 + 123_456_000, end_us: T0 + 123_466_000 }, null);
  near(e.energy_uwh, 2 * 10_000 * UWH, 1e-12, 'energy');
  // Integration, the sampling interval and the error bound each look at a handful of reads around the window.
  assert.ok(reads < 400, `${reads} sample reads for one window`);
  reads = 0;
  attributeThesis(counted, { start_us: T0 + 123_456_000, end_us: T0 + 123_466_000 }, null);
  assert.ok(reads < 400, `${reads} sample reads for the thesis method`);
});
