/**
 * Admission control per runtime (docs/reliability.md, "Admission"): at most `slots` invocations run,
 * at most `queue` wait — each no longer than `queueTimeoutMs` — and the rest are refused at once
 * with 503 and a Retry-After computed from how fast slots free up. Deciding before the body is read
 * keeps a refusal cheap, so refused clients cannot starve the ones being served.
 */
import { cancelled } from './host/errors.js';
import { HttpError } from './http-error.js';

export interface AdmissionOptions {
  /** Names the runtime in messages and metrics. */
  what: string;
  /** Invocations run at once (wasm workers, processes, containers). */
  slots: number;
  /** Invocations allowed to wait for a slot. */
  queue: number;
  /** Longest wait for a slot before 503 `queue-timeout`. */
  queueTimeoutMs: number;
  /** Microseconds on a monotonic clock (to learn how long a slot is held). */
  nowUs: () => number;
}

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

/** What /metrics shows of one runtime's admission. */
export interface AdmissionStats {
  slots: number;
  queue: number;
  inFlight: number;
  queued: number;
  /** Refused because the queue was full, and because a wait passed the queue timeout. */
  refusedBusy: number;
  refusedTimeout: number;
}

export class Admission {
  readonly #o: AdmissionOptions;
  #inFlight = 0;
  /** FIFO; a timed-out waiter is removed from the middle (rare, and the queue is bounded). */
  readonly #waiting: Waiter[] = [];
  /** Moving average of how long one invocation holds a slot, µs (0 until the first release). */
  #holdUs = 0;
  #refusedBusy = 0;
  #refusedTimeout = 0;

  constructor(options: AdmissionOptions) {
    this.#o = options;
  }

  /** Throws 503 `busy` (with Retry-After) when every slot runs and the queue is full. */
  refuseIfFull(): void {
    if (this.#inFlight < this.#o.slots || this.#waiting.length < this.#o.queue) return;
    this.#refusedBusy++;
    throw new HttpError(
      503,
      'busy',
      `${this.#o.what} is saturated: all ${this.#o.slots} slots run and ${this.#waiting.length} invocations wait (--queue); retry after the Retry-After seconds`,
      { retryAfterS: this.#retryAfterS(this.#waiting.length) },
    );
  }

  /**
   * Resolves with a release function once a slot is free; rejects 503 when the queue is full or the
   * wait too long, and `cancelled` when `signal` fires while waiting (the client went away: its place
   * in the queue is freed at once).
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(cancelled(this.#o.what));
    if (this.#inFlight < this.#o.slots) {
      this.#inFlight++;
      return Promise.resolve(this.#releaser());
    }
    try {
      this.refuseIfFull();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise((resolve, reject) => {
      const leave = (): void => {
        clearTimeout(waiter.timer);
        const at = this.#waiting.indexOf(waiter);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(cancelled(this.#o.what));
      };
      signal?.addEventListener('abort', leave, { once: true });
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', leave);
          resolve(this.#releaser());
        },
        timer: setTimeout(() => {
          signal?.removeEventListener('abort', leave);
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          this.#refusedTimeout++;
          reject(
            new HttpError(
              503,
              'queue-timeout',
              `${this.#o.what} is saturated: no slot freed within ${this.#o.queueTimeoutMs} ms (--queue-timeout-ms); retry after the Retry-After seconds`,
              { retryAfterS: this.#retryAfterS(this.#waiting.length) },
            ),
          );
        }, this.#o.queueTimeoutMs),
      };
      this.#waiting.push(waiter);
    });
  }

  stats(): AdmissionStats {
    return {
      slots: this.#o.slots,
      queue: this.#o.queue,
      inFlight: this.#inFlight,
      queued: this.#waiting.length,
      refusedBusy: this.#refusedBusy,
      refusedTimeout: this.#refusedTimeout,
    };
  }

  #releaser(): () => void {
    const startedUs = this.#o.nowUs();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = Math.max(0, this.#o.nowUs() - startedUs);
      this.#holdUs = this.#holdUs === 0 ? held : this.#holdUs * 0.9 + held * 0.1;
      const next = this.#waiting.shift();
      if (next) next.grant(); // the slot passes straight on: #inFlight is unchanged
      else this.#inFlight--;
    };
  }

  /** Whole seconds until `ahead` waiting invocations have drained through the slots (at least 1). */
  #retryAfterS(ahead: number): number {
    const drainUs = ((ahead + 1) * this.#holdUs) / this.#o.slots;
    return Math.max(1, Math.ceil(drainUs / 1e6));
  }
}
