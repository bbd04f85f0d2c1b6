/**
 * Waits until a bench-clock instant with sub-millisecond accuracy. Node's timers fire on whole
 * milliseconds of the event loop's clock, so a timer alone sends up to ~1 ms late (and later under
 * load); the open loop's goal is lateness p99 ≤ 1 ms at 1,000 req/s (docs/performance.md). So: sleep on
 * a timer until `spinUs` before the instant, then yield with setImmediate — which lets replies and
 * other I/O run — until the clock reaches it. The spin costs CPU only in the last `spinUs` before each
 * send; at 1,000 req/s that is most of the time, which is the price of the schedule.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface Pace {
  nowUs: () => number;
  /** A sleep that a stop cuts short. */
  sleep: (ms: number) => Promise<void>;
  stopped: () => boolean;
}

/** Spin window before a due instant, µs. */
export const SPIN_US = 2000;

/** Resolves at `dueUs` (or at once when it is past, or when the run stops). */
export async function waitUntil(dueUs: number, pace: Pace, spinUs = SPIN_US): Promise<void> {
  const left = dueUs - pace.nowUs();
  if (left > spinUs) await pace.sleep((left - spinUs) / 1000);
  while (!pace.stopped() && pace.nowUs() < dueUs) await nextTurn();
}
