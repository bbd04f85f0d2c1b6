import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { DriverEventMap } from '../../src/console/driver.js';
import type { Sample } from '../../src/protocol/results.js';
import { line } from './lines.js';
import { feedDriver } from '../../src/tui/feed.js';
import { CHART_BUCKETS, chartSeries, initialState, reduce, sampleRate, type UiAction } from '../../src/tui/state.js';

function sample(tS: number, w: number): Sample {
  return { t_start_us: tS * 1e6, t_end_us: tS * 1e6 + 1000, power_w: w };
}

test('invocation lines fold into one cell per function × runtime; warm-ups are skipped, failures counted', () => {
  const s = reduce(initialState(), {
    type: 'invocations',
    lines: [
      line({ warmup: true, startup: 99_999 }),
      line({ startup: 400, total: 600, iso: 1 }),
      line({ startup: 600, total: 900, iso: 3 }),
      line({ runtime: 'docker', startup: 400_000, total: 450_000, iso: 300 }),
      line({ runtime: 'docker', ok: false, metrics: null, energy: null }),
    ],
  });
  assert.deepEqual(
    s.cells.map((c) => [c.function, c.runtime, c.n, c.errors, c.startupUs.toArray(), c.totalUs.toArray(), c.isolatedUwh.toArray()]),
    [
      ['factorial', 'wasm', 2, 0, [400, 600], [600, 900], [1, 3]],
      ['factorial', 'docker', 1, 1, [400_000], [450_000], [300]],
    ],
  );
});

test('prewarmed invocations fold into cells of their own, apart from the cold ones', () => {
  const s = reduce(initialState(), {
    type: 'invocations',
    lines: [line({ startup: 1000, total: 1200 }), { ...line({ startup: 300, total: 500 }), mode: 'prewarmed', prepared: true }],
  });
  assert.deepEqual(
    s.cells.map((c) => [c.runtime, c.mode ?? 'cold', c.startupUs.toArray()]),
    [
      ['wasm', 'cold', [1000]],
      ['wasm', 'prewarmed', [300]],
    ],
  );
});

test('the reducer never mutates the state it is given', () => {
  const before = reduce(initialState(), { type: 'invocations', lines: [line({})] });
  const snapshot = JSON.stringify(before);
  const after = reduce(before, { type: 'batch', actions: [{ type: 'invocations', lines: [line({ startup: 9 })] }, { type: 'samples', samples: [sample(1, 3)] }] });
  assert.equal(JSON.stringify(before), snapshot);
  assert.deepEqual(after.cells[0]!.startupUs.toArray(), [500, 9]);
});

test('samples are bucketed into a bounded last-minute series with carry-forward, and the rate is measured', () => {
  let s = initialState();
  // 600 samples/s for 90 s, delivered in 100 ms batches: the chart keeps only the last minute.
  for (let batch = 0; batch < 900; batch++) {
    const samples = Array.from({ length: 60 }, (_, i) => sample(batch * 0.1 + i / 600, batch < 200 ? 2 : 4));
    s = reduce(s, { type: 'samples', samples });
  }
  assert.equal(s.samples, 54_000);
  assert.ok(s.buckets.length <= CHART_BUCKETS, `${s.buckets.length} buckets`);
  const series = chartSeries(s);
  assert.equal(series.length, CHART_BUCKETS);
  assert.ok(series.every((w) => w === 4));
  assert.equal(s.currentW, 4);
  assert.equal(Math.round(sampleRate(s)), 600);
  // A gap in the samples is drawn at the last value, not as zero.
  s = reduce(s, { type: 'samples', samples: [sample(95, 7)] });
  const withGap = chartSeries(s);
  assert.equal(withGap.at(-1), 7);
  assert.equal(withGap.at(-2), 4);
});

test('progress, phase, baseline, errors and done update the header state', () => {
  const actions: UiAction[] = [
    { type: 'start', suite: 'quick', runId: 'quick-1', target: 'http://t', health: null, meter: 'sim', total: 10, dir: '/r' },
    { type: 'phase', phase: 'measure', seconds: null, atMs: 5 },
    { type: 'baseline', which: 'before', baseline: { seconds: 5, samples: 10, power_w: 2.5, spread_w: 0.1 }, driftW: null },
    { type: 'progress', done: 4, total: 10, failed: 1, etaMs: 3000, paused: true },
    { type: 'error', message: 'boom', fatal: false },
    { type: 'baseline', which: 'after', baseline: { seconds: 5, samples: 10, power_w: 2.7, spread_w: 0.1 }, driftW: 0.2 },
    { type: 'done', status: 'interrupted', error: null },
  ];
  const s = reduce(initialState(), { type: 'batch', actions });
  assert.deepEqual(
    [s.suite, s.runId, s.total, s.done, s.failed, s.etaMs, s.paused, s.baselineW, s.driftW, s.lastError, s.status, s.phase],
    ['quick', 'quick-1', 10, 4, 1, 3000, true, 2.5, 0.2, 'boom', 'interrupted', 'done'],
  );
});

test('the feed batches driver events into one action per frame, samples and lines merged, latest progress only', () => {
  const driver = new EventEmitter<DriverEventMap>();
  const dispatched: UiAction[] = [];
  const feed = feedDriver(driver, '/r', (a) => dispatched.push(a), 60_000);
  for (let i = 0; i < 500; i++) driver.emit('sample', sample(i / 500, 3));
  driver.emit('invocation', line({}));
  driver.emit('invocation', line({ seq: 1 }));
  driver.emit('progress', { done: 1, total: 9, failed: 0, etaMs: null, paused: false });
  driver.emit('progress', { done: 2, total: 9, failed: 0, etaMs: 70, paused: false });
  driver.emit('done', { status: 'completed', error: null, exitCode: 0, endedAt: 'x', invocations: 2, failed: 0 });
  assert.equal(dispatched.length, 0, 'nothing is dispatched before the frame');
  feed.close();
  assert.equal(dispatched.length, 1);
  const batch = dispatched[0]!;
  assert.equal(batch.type, 'batch');
  if (batch.type !== 'batch') return;
  assert.deepEqual(
    batch.actions.map((a) => a.type),
    ['samples', 'invocations', 'progress', 'done'],
  );
  const [samples, lines, progress] = batch.actions;
  assert.equal(samples?.type === 'samples' && samples.samples.length, 500);
  assert.equal(lines?.type === 'invocations' && lines.lines.length, 2);
  assert.equal(progress?.type === 'progress' && progress.done, 2);
  feed.flush();
  assert.equal(dispatched.length, 1, 'an empty frame dispatches nothing');
});
