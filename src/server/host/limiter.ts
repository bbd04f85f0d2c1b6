/** A counting semaphore with a bounded wait queue: `acquire` rejects `busy` when the queue is full. */
import { RuntimeError } from './errors.js';

export class Limiter {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(
    readonly slots: number,
    readonly queueLimit: number,
    readonly what: string,
  ) {}

  async acquire(): Promise<() => void> {
    if (this.#active >= this.slots) {
      if (this.#waiting.length >= this.queueLimit) {
        throw new RuntimeError('busy', `all ${this.slots} ${this.what} slots are busy and ${this.#waiting.length} wait; retry later`);
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
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
