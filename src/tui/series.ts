/**
 * An append-only series of numbers for the console's live table: each UI state holds an immutable
 * Series (a length over shared storage), so a batch of results costs O(batch) instead of a copy of
 * every value so far, and a series' median is computed once per version instead of on every frame.
 *
 * Why sharing the storage keeps the reducer pure: a version only ever reads its own prefix
 * [0, length). An append writes at and after `store.filled`, which is ≥ every existing version's
 * length, so no existing version's values change. If an older version is appended to again (a
 * branch: reducing the same state twice), its prefix is copied into new storage first. Growing
 * reallocates the buffer with the same prefix, which every version sees through the shared store.
 */
import { medianInPlace } from '../report/resample.js';

interface Store {
  buf: Float64Array;
  /** Values written so far, by all versions together. */
  filled: number;
}

export class Series {
  readonly #store: Store;
  readonly length: number;
  /** Memoised median of this version (its values never change, so neither does it). */
  #median: number | undefined;

  private constructor(store: Store, length: number) {
    this.#store = store;
    this.length = length;
  }

  /** An empty series with storage of its own. */
  static empty(): Series {
    return new Series({ buf: new Float64Array(0), filled: 0 }, 0);
  }

  /** A new version with `values` appended; this one is unchanged. */
  append(values: readonly number[]): Series {
    if (values.length === 0) return this;
    let store = this.#store;
    const length = this.length + values.length;
    if (store.filled !== this.length || length > store.buf.length) {
      const capacity = Math.max(16, length * 2);
      const buf = new Float64Array(capacity);
      buf.set(store.buf.subarray(0, this.length));
      if (store.filled === this.length) store.buf = buf; // the newest version grows the shared store
      else store = { buf, filled: this.length }; // a branch gets storage of its own
    }
    store.buf.set(values, this.length);
    store.filled = length;
    return new Series(store, length);
  }

  /** The values, as a read-only view of the shared storage (valid until the next append). */
  view(): Float64Array {
    return this.#store.buf.subarray(0, this.length);
  }

  /** A copy of the values. */
  toArray(): number[] {
    return Array.from(this.view());
  }

  /** Median (mean of the middle two for even n, as report/stats' median); NaN when empty. O(n) once. */
  median(): number {
    this.#median ??= medianInPlace(this.view().slice());
    return this.#median;
  }

  toJSON(): number[] {
    return this.toArray();
  }
}
