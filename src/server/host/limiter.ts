/**
 * A counting semaphore with a bounded wait queue: `acquire` rejects `busy` when the queue is full,
 * and `cancelled` when the caller's signal fires while it waits (its place in the queue is freed).
 */
import { RuntimeError, cancelled } from './errors.js';

export class Limiter {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(
    readonly slots: number,
    readonly queueLimit: number,
    readonly what: string,
  ) {}

  /** Slots neither held nor promised to a waiter. */
  get free(): number {
    return this.#waiting.length > 0 ? 0 : this.slots - this.#active;
  }

  /** A slot now if one is free, else undefined (never waits). */
  tryAcquire(): (() => void) | undefined {
    if (this.free <= 0) return undefined;
    this.#active++;
    return this.#releaser();
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw cancelled(this.what);
    if (this.#active >= this.slots) {
      if (this.#waiting.length >= this.queueLimit) {
        throw new RuntimeError('busy', `all ${this.slots} ${this.what} slots are busy and ${this.#waiting.length} wait; retry later`);
      }
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', leave);
          resolve();
        };
        const leave = (): void => {
          const index = this.#waiting.indexOf(wake);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(cancelled(this.what));
        };
        signal?.addEventListener('abort', leave, { once: true });
        this.#waiting.push(wake);
      });
    } else {
      this.#active++;
    }
    return this.#releaser();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    };
  }
}
