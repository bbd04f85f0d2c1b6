import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastN, PowerBins, renderWatch } from '../../src/meter/watch-view.js';

test('the watch frame shows the description, current watts, rate, counts and a chart of the last values', () => {
  const frame = renderWatch({ description: 'sim', powers: [2, 3, 4, 3, 2], binMs: 250, watts: 2.5, rateHz: 612.4, samples: 5, gaps: 1, status: 'gap of 120 ms (timeout)' }, 80, 24);
  const lines = frame.split('\n');
  assert.equal(lines[0], 'sim');
  assert.equal(lines[1], 'power 2.500 W   rate 612 samples/s   samples 5   gaps 1');
  assert.equal(lines[2], 'gap of 120 ms (timeout)');
  assert.equal(lines[3], 'last 1.3 s, 250 ms per column');
  assert.match(frame, /4\.00 W/);
  assert.match(frame, /2\.00 W/);
  assert.equal(lines.at(-1), '(Ctrl-C to stop)');
  assert.match(renderWatch({ description: 'm', powers: [], binMs: 250, watts: null, rateHz: 0, samples: 0, gaps: 0, status: null }, 80, 24), /power —.*\n\n\(waiting for samples\)/);
});

test('lastN keeps the newest values', () => {
  assert.deepEqual(lastN([1, 2, 3, 4], 2), [3, 4]);
  assert.deepEqual(lastN([1], 5), [1]);
});

test('power is averaged per time bin, so the chart spans time rather than the last few samples', () => {
  const bins = new PowerBins(250);
  for (let i = 0; i < 1000; i++) bins.add(1_000_000_000 + i * 1000, i < 500 ? 2 : 4); // 1 s at 1000 samples/s
  assert.deepEqual(bins.values(), [2, 2, 4, 4]);
});

test('a flat series is drawn on a span of at least 0.5 W, not magnified to fill the chart', () => {
  const frame = renderWatch({ description: 'm', powers: [2.5, 2.51, 2.5, 2.52], binMs: 250, watts: 2.52, rateHz: 700, samples: 4, gaps: 0, status: null }, 80, 24);
  assert.match(frame, /2\.76 W/);
  assert.match(frame, /2\.26 W/);
});
