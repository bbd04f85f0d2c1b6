import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastN, renderWatch } from '../../src/meter/watch-view.js';

test('the watch frame shows the description, current watts, rate, counts and a chart of the last values', () => {
  const frame = renderWatch({ description: 'sim', powers: [2, 3, 4, 3, 2], watts: 2.5, rateHz: 612.4, samples: 5, gaps: 1, status: 'gap of 120 ms (timeout)' }, 80, 24);
  const lines = frame.split('\n');
  assert.equal(lines[0], 'sim');
  assert.equal(lines[1], 'power 2.500 W   rate 612 samples/s   samples 5   gaps 1');
  assert.equal(lines[2], 'gap of 120 ms (timeout)');
  assert.match(frame, /4\.00 W/);
  assert.match(frame, /2\.00 W/);
  assert.equal(lines.at(-1), '(Ctrl-C to stop)');
  assert.match(renderWatch({ description: 'm', powers: [], watts: null, rateHz: 0, samples: 0, gaps: 0, status: null }, 80, 24), /power —.*\n\n\(waiting for samples\)/);
});

test('lastN keeps the newest values', () => {
  assert.deepEqual(lastN([1, 2, 3, 4], 2), [3, 4]);
  assert.deepEqual(lastN([1], 5), [1]);
});
