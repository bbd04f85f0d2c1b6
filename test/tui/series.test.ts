import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median } from '../../src/report/stats.js';
import { Series } from '../../src/tui/series.js';

test('a series version keeps its values when later versions are appended to, grown, or branched', () => {
  const v1 = Series.empty().append([3, 1]);
  const v2 = v1.append(Array.from({ length: 40 }, (_, i) => i)); // grows the shared buffer
  const v3 = v2.append([100]);
  const branch = v1.append([7]); // v1 already has a successor: the branch gets storage of its own
  const v4 = v3.append([200]);
  assert.deepEqual(v1.toArray(), [3, 1]);
  assert.equal(v2.length, 42);
  assert.deepEqual(v3.toArray().slice(-2), [39, 100]);
  assert.deepEqual(branch.toArray(), [3, 1, 7]);
  assert.deepEqual(v4.toArray().slice(-3), [39, 100, 200]);
  assert.equal(JSON.stringify(v1), '[3,1]');
});

test('a series median equals the report median (even, odd, empty) and is not changed by later appends', () => {
  const values = [5, 9, 1, 1, 4, 8];
  const s = Series.empty().append(values);
  assert.equal(s.median(), median(values));
  const t = s.append([0]);
  assert.equal(t.median(), median([...values, 0]));
  assert.equal(s.median(), median(values));
  assert.ok(Number.isNaN(Series.empty().median()));
  assert.equal(s.append([]), s);
});
