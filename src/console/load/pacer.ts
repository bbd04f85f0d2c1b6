/**
 * Waits until a bench-clock instant with sub-millisecond accuracy, without spinning a core. Node's
 * timers fire on whole milliseconds of the event loop's clock, so a timer alone sends up to ~1 ms late
 * (later under load), and the open loop's goal is lateness p99 ≤ 1 ms at 1,000 req/s
 * (docs/performance.md, "Load generator"). So, in three steps:
 *   1. a timer sleeps until `TIMER_GUARD_US` before the instant (a stop cuts it short);
 *   2. then short blocking waits (`Atomics.wait`, which the kernel ends to within tens of µs) of at
 *      most `SLICE_US` each, with a turn of the event loop between them so answers keep being read —
 *      an answer that arrives during a slice is stamped at most `SLICE_US` late: latency errs high,
 *      never low;
 *   3. the last `SPIN_US` are spun on the clock, so the send is not late by the kernel's wake-up slack.
 * The previous pacer yielded with setImmediate through the last 2 ms, which at 1,000 req/s meant a core
 * spinning the whole stage (~1 ms of CPU per request); this one costs ~0.1 ms.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface Pace {
  nowUs: () => number;
  /** A sleep that a stop cuts short. */
  sleep: (ms: number) => Promise<void>;
  stopped: () => boolean;
}

/** Before the due instant, timers hand over to blocking slices this early (a timer fires up to ~1 ms late). */
export const TIMER_GUARD_US = 1500;
/** Longest blocking wait: the most an answer arriving meanwhile waits to be read. */
export const SLICE_US = 100;
/** The final stretch spun on the clock. */
export const SPIN_US = 50;

/** The cell `Atomics.wait` sleeps on; nothing ever notifies it, so every wait runs to its timeout. */
const cell = new Int32Array(new SharedArrayBuffer(4));

/** Resolves at `dueUs` (or at once when it is past, or when the run stops). Never resolves before `dueUs`. */
export async function waitUntil(dueUs: number, pace: Pace): Promise<void> {
  let left = dueUs - pace.nowUs();
  if (left > TIMER_GUARD_US && !pace.stopped()) {
    await pace.sleep((left - TIMER_GUARD_US) / 1000);
    left = dueUs - pace.nowUs();
  }
  while (left > 0 && !pace.stopped()) {
    if (left > SPIN_US) {
      Atomics.wait(cell, 0, 0, Math.min(left - SPIN_US, SLICE_US) / 1000);
      if (dueUs - pace.nowUs() > SPIN_US) await nextTurn();
    }
    left = dueUs - pace.nowUs();
  }
}
