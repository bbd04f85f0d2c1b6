import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nowUs } from '../../../src/clock.js';
import { SLICE_US, TIMER_GUARD_US, waitUntil, type Pace } from '../../../src/console/load/pacer.js';

const pace = (stopped = (): boolean => false): Pace => ({ nowUs, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), stopped });

test('waitUntil never resolves before the due instant, whether the wait starts with a timer, in the slices or in the final spin', async () => {
  const p = pace();
  // Due instants from "already past" through the spin, the slices and beyond the timer guard.
  const aheads = [-500, 0, 10, 40, 80, 150, SLICE_US * 3, 900, TIMER_GUARD_US + 700, 4000];
  for (let round = 0; round < 5; round++) {
    for (const ahead of aheads) {
      const due = nowUs() + ahead;
      await waitUntil(due, p);
      const at = nowUs();
      assert.ok(at >= due, `resolved ${due - at} µs before its due instant (${ahead} µs ahead)`);
    }
  }
});

test('the event loop keeps turning while waitUntil waits inside the timer guard: answers are read meanwhile', async () => {
  // A clock that moves 20 µs per reading: the number of slices does not depend on how loaded the machine is.
  let fake = 0;
  const p: Pace = { nowUs: () => (fake += 20), sleep: () => assert.fail('no timer inside the guard'), stopped: () => false };
  let turns = 0;
  let on = true;
  const tick = (): void => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  await waitUntil(TIMER_GUARD_US - 100, p);
  on = false;
  // Two readings per slice (40 µs): ~35 slices, each followed by a turn, until the last 50 µs are spun.
  assert.ok(turns >= 20, `only ${turns} turns of the event loop while waiting ${TIMER_GUARD_US - 100} µs`);
});

test('a stopped run does not wait: waitUntil of an instant an hour away returns at once', async () => {
  await waitUntil(nowUs() + 3600e6, pace(() => true));
});
