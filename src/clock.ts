/**
 * The realtime clock in µs since the Unix epoch with µs resolution (docs/api.md, timestamps).
 *
 * Date.now() has ms resolution and performance.now() is monotonic but drifts away from the realtime
 * clock in a long-lived process (NTP slews it). So we anchor the monotonic clock (hrtime, the same
 * CLOCK_MONOTONIC in every thread) to the realtime clock at the instant Date.now() ticks to a new
 * millisecond — that edge is exact to within a few µs — and re-anchor periodically.
 */
export interface ClockAnchor {
  /** Realtime µs at the anchor instant. */
  readonly realUs: number;
  /** process.hrtime.bigint() at the anchor instant, in ns. */
  readonly monoNs: bigint;
}

/**
 * Finds a Date.now() millisecond edge and brackets it with hrtime reads taken just before the last
 * old-ms read and just after the first new-ms read. A bracket wider than `maxBracketNs` means the
 * thread was preempted in between, so that edge is rejected and the next one tried (≤ 1 ms each).
 */
export function measureAnchor(maxBracketNs = 20_000n, attempts = 8): ClockAnchor {
  let best: { realUs: number; monoNs: bigint; width: bigint } | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    let preOld = process.hrtime.bigint();
    const start = Date.now();
    let now = start;
    let pre = preOld;
    while (now === start) {
      preOld = pre;
      pre = process.hrtime.bigint();
      now = Date.now();
    }
    const post = process.hrtime.bigint();
    // The edge lies after the last read that still saw `start` began (preOld) and before `post`.
    const width = post - preOld;
    const candidate = { realUs: now * 1000, monoNs: preOld + width / 2n, width };
    if (!best || candidate.width < best.width) best = candidate;
    if (width <= maxBracketNs) break;
  }
  return { realUs: best!.realUs, monoNs: best!.monoNs };
}

/** Converts an hrtime reading (ns) to realtime µs through an anchor. Integer µs. */
export function monoToRealUs(anchor: ClockAnchor, monoNs: bigint): number {
  return anchor.realUs + Number((monoNs - anchor.monoNs) / 1000n);
}

/** A realtime µs clock that can be shared with worker threads by passing its anchor. */
export class RealtimeClock {
  #anchor: ClockAnchor;
  #timer: NodeJS.Timeout | undefined;

  constructor(anchor: ClockAnchor = measureAnchor()) {
    this.#anchor = anchor;
  }

  get anchor(): ClockAnchor {
    return this.#anchor;
  }

  /** Current realtime in µs since the epoch. */
  nowUs(): number {
    return monoToRealUs(this.#anchor, process.hrtime.bigint());
  }

  /** Replaces the anchor (e.g. one measured on another thread). */
  setAnchor(anchor: ClockAnchor): void {
    this.#anchor = anchor;
  }

  /**
   * Re-anchors every `intervalMs` so NTP slewing of the realtime clock is followed; calls `onAnchor`
   * so workers can be told. The timer does not keep the process alive.
   */
  startReanchoring(intervalMs = 30_000, onAnchor?: (anchor: ClockAnchor) => void): void {
    this.stopReanchoring();
    this.#timer = setInterval(() => {
      this.#anchor = measureAnchor();
      onAnchor?.(this.#anchor);
    }, intervalMs);
    this.#timer.unref();
  }

  stopReanchoring(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The process-wide clock. Created lazily: no busy-wait at import time. */
let shared: RealtimeClock | undefined;
export function sharedClock(): RealtimeClock {
  shared ??= new RealtimeClock();
  return shared;
}

/** Shorthand for sharedClock().nowUs(). */
export function nowUs(): number {
  return sharedClock().nowUs();
}
