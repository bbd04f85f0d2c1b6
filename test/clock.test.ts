import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureAnchor, monoToRealUs, RealtimeClock } from '../src/clock.js';

test('the anchored clock agrees with Date.now() to within 2 ms and has µs resolution', () => {
  const clock = new RealtimeClock();
  const before = Date.now() * 1000;
  const us = clock.nowUs();
  const after = Date.now() * 1000 + 1000;
  assert.ok(us >= before - 2000 && us <= after + 2000, `${us} not within [${before}, ${after}]`);
  const distinct = new Set<number>();
  for (let i = 0; i < 10_000 && distinct.size < 3; i++) distinct.add(clock.nowUs() % 1000);
  assert.ok(distinct.size >= 3, 'sub-millisecond digits never change');
});

test('monoToRealUs maps hrtime through an anchor exactly', () => {
  const anchor = { realUs: 1_700_000_000_000_000, monoNs: 5_000_000_000n };
  assert.equal(monoToRealUs(anchor, 5_000_123_999n), 1_700_000_000_000_123);
});

test('two anchors measured in a row agree to within 100 µs', () => {
  const a = measureAnchor();
  const b = measureAnchor();
  const drift = Math.abs(monoToRealUs(a, b.monoNs) - b.realUs);
  assert.ok(drift < 100, `anchors disagree by ${drift} µs`);
});
