/**
 * Instances prepared ahead for `prewarmed` calls in the process runtimes (native: a process spawned
 * and blocked on stdin; docker: a container created, attached and started, blocked on stdin), one per function
 * (docs/runtimes.md, "Start modes"). Each holds one of its runtime's slots, so prepared instances
 * count against --max-processes / --max-containers; preparing never waits for a slot, and a call that
 * needs one while prepared instances hold them all discards one (`makeRoom`). An instance is used by
 * one call only; one made from an artifact that was replaced since (`version` differs) or forgotten
 * while it was being made is discarded, never run.
 */
import type { Limiter } from './limiter.js';

export interface PreparedInstance {
  /** Stops and removes it; resolves once it is gone. Never throws. */
  discard(): Promise<void>;
}

interface Entry<T> {
  version: string;
  instance: T;
  release: () => void;
}

export class PreparedSet<T extends PreparedInstance> {
  readonly #limiter: Limiter;
  readonly #ready = new Map<string, Entry<T>>();
  readonly #making = new Map<string, Promise<boolean>>();
  /** Bumped by forget(): a preparation that began before it is discarded when it ends. */
  readonly #epochs = new Map<string, number>();
  readonly #discarding = new Set<Promise<void>>();
  #closed = false;

  constructor(limiter: Limiter) {
    this.#limiter = limiter;
  }

  /** Preparations and discards in progress (background work: the server is not settled meanwhile). */
  get busy(): number {
    return this.#making.size + this.#discarding.size;
  }

  /** Prepared instances held now. */
  get size(): number {
    return this.#ready.size;
  }

  /**
   * Makes an instance of `name` at `version` with `make` unless one is held or being made; resolves
   * whether one is ready. False without a free slot or when `make` fails (`onError` hears why).
   */
  prepare(name: string, version: string, make: () => Promise<T>, onError: (error: unknown) => void): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    const held = this.#ready.get(name);
    if (held?.version === version) return Promise.resolve(true);
    if (held) this.#drop(name, held);
    const making = this.#making.get(name);
    if (making) return making;
    const release = this.#limiter.tryAcquire();
    if (!release) return Promise.resolve(false);
    const epoch = this.#epochs.get(name) ?? 0;
    const made = make().then(
      (instance) => {
        if (this.#closed || (this.#epochs.get(name) ?? 0) !== epoch) {
          void this.#discard(instance, release);
          return false;
        }
        this.#ready.set(name, { version, instance, release });
        return true;
      },
      (error: unknown) => {
        release();
        onError(error);
        return false;
      },
    );
    const tracked = made.finally(() => this.#making.delete(name));
    this.#making.set(name, tracked);
    return tracked;
  }

  /**
   * The prepared instance of `name` at `version`, removed from the set with the slot it holds (the
   * caller releases it after the call); undefined when none is ready. A stale one is discarded.
   */
  take(name: string, version: string, usable: (instance: T) => boolean = () => true): { instance: T; release: () => void } | undefined {
    const held = this.#ready.get(name);
    if (!held) return undefined;
    this.#ready.delete(name);
    if (held.version !== version || !usable(held.instance)) {
      void this.#discard(held.instance, held.release);
      return undefined;
    }
    return { instance: held.instance, release: held.release };
  }

  /** Frees a slot for a call when prepared instances hold every free one: discards one and waits until it is gone. */
  async makeRoom(): Promise<void> {
    if (this.#limiter.free > 0) return;
    const first = this.#ready.entries().next();
    if (first.done) return;
    const [name, entry] = first.value;
    this.#ready.delete(name);
    await this.#discard(entry.instance, entry.release);
  }

  /** The function's artifact was replaced or deleted: its prepared instance (and one being made) goes. */
  forget(name: string): void {
    this.#epochs.set(name, (this.#epochs.get(name) ?? 0) + 1);
    const held = this.#ready.get(name);
    if (held) this.#drop(name, held);
  }

  /** Discards every prepared instance, also those still being made, and waits until all are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [name, entry] of [...this.#ready]) this.#drop(name, entry);
    await Promise.all([...this.#making.values()]);
    await Promise.all([...this.#discarding]);
  }

  #drop(name: string, entry: Entry<T>): void {
    this.#ready.delete(name);
    void this.#discard(entry.instance, entry.release);
  }

  /** Discards `instance`; its slot is free again once it is gone. */
  #discard(instance: T, release: () => void): Promise<void> {
    const gone = instance.discard().finally(() => {
      release();
      this.#discarding.delete(gone);
    });
    this.#discarding.add(gone);
    return gone;
  }
}
