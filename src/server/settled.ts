/**
 * Whether the server is settled: no invocation is being received, run or answered, and no runtime
 * has clean-up of an earlier one still going (`backgroundWork`: containers being removed, escaped
 * processes being hunted, stopped workers exiting). `GET /settled?wait_ms=N` waits up to N ms for it,
 * so a measuring client can start each invocation on a quiet server (docs/methodology.md, "Settling").
 */
import type { Clock } from './host/clock.js';

/** The answer of GET /settled (docs/api.md). */
export interface SettledAnswer {
  settled: boolean;
  /** How long the server waited for it, µs (0 when it was settled already). */
  waited_us: number;
  /** Invocations in progress (received, not yet answered) when it answered. */
  in_flight: number;
  /** Clean-up tasks of the runtimes still running when it answered. */
  background: number;
}

/** The longest wait GET /settled accepts: a client wanting more asks again. */
export const MAX_SETTLE_WAIT_MS = 60_000;
/** How often a waiting /settled looks again. A wait is for clean-up taking ms to 100s of ms. */
const POLL_MS = 1;

/** Counts invocations from receipt to the reply's end. */
export class InvocationTracker {
  #inFlight = 0;

  get inFlight(): number {
    return this.#inFlight;
  }

  /** One invocation began; call the returned function exactly once when its reply is done. */
  begin(): () => void {
    this.#inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#inFlight--;
    };
  }
}

/**
 * Waits until `state()` reports nothing in flight and no background work, or `waitMs` passed, or
 * `signal` fired (the client left).
 */
export async function waitSettled(
  state: () => { inFlight: number; background: number },
  waitMs: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<SettledAnswer> {
  const from = clock.nowUs();
  const deadline = from + waitMs * 1000;
  for (;;) {
    const { inFlight, background } = state();
    const now = clock.nowUs();
    const settled = inFlight === 0 && background === 0;
    if (settled || now >= deadline || signal?.aborted) {
      return { settled, waited_us: settled && now === from ? 0 : now - from, in_flight: inFlight, background };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
