/**
 * The sampler: reads a meter continuously (as fast as it answers, or every `intervalMs`), emits each
 * sample, and survives faults. Every read has a deadline; after a failure it retries with exponential
 * back-off, and the span without readings is emitted as a Gap — never filled with invented values.
 *
 * Events: `sample` (Sample), `gap` (Gap, once readings resume or at stop), `error` (MeterError, first
 * failure of a streak; only emitted when someone listens, so an unobserved fault cannot crash the
 * process), `reconnect` ({attempt, delay_ms, reason}, before each retry).
 */
import { EventEmitter } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { nowUs } from '../clock.js';
import { wakeableDelay } from '../timers.js';
import { describeError, MeterError } from '../errors.js';
import type { Gap, Sample } from '../protocol/results.js';
import type { Meter } from './meter.js';

export interface SamplerOptions {
  /** Time between read starts; 0 or undefined = back to back, as fast as the meter answers. */
  intervalMs?: number;
  /** Deadline for one read (the meter's own timeout should fire first; this is the safety net). */
  timeoutMs?: number;
  /** First retry delay after a failure; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface ReconnectInfo { attempt: number; delay_ms: number; reason: string }

export interface SamplerStats {
  samples: number;
  gaps: number;
  errors: number;
  /** Samples per second over the recent readings (the last ≤ 64). */
  rate_hz: number;
  last: Sample | null;
  running: boolean;
}

interface SamplerEvents {
  sample: [Sample];
  gap: [Gap];
  error: [MeterError];
  reconnect: [ReconnectInfo];
}

const RATE_WINDOW = 64;

export class Sampler extends EventEmitter<SamplerEvents> {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #samples = 0;
  #gaps = 0;
  #errors = 0;
  #last: Sample | null = null;
  /** Ring of recent read-end times for the rate. */
  readonly #recent: number[] = [];

  constructor(readonly meter: Meter, options: SamplerOptions = {}) {
    super();
    this.intervalMs = Math.max(0, options.intervalMs ?? 0);
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.#backoffMs = options.backoffMs ?? 50;
    this.#maxBackoffMs = options.maxBackoffMs ?? 2000;
  }

  /** Starts reading in the background; a second call is a no-op. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops after the read in flight (bounded by the timeout) and emits a trailing gap if one is open. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  stats(): SamplerStats {
    const n = this.#recent.length;
    const span = n >= 2 ? this.#recent[n - 1]! - this.#recent[0]! : 0;
    return {
      samples: this.#samples,
      gaps: this.#gaps,
      errors: this.#errors,
      rate_hz: span > 0 ? ((n - 1) * 1e6) / span : 0,
      last: this.#last,
      running: this.#running,
    };
  }

  /** Waits `ms` unless stop() wakes it. */
  async #pause(ms: number): Promise<void> {
    const delay = wakeableDelay(ms);
    this.#wake = delay.wake;
    await delay.done;
    this.#wake = undefined;
  }

  async #readWithDeadline(): Promise<Sample> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new MeterError(`meter read did not finish within ${this.timeoutMs} ms`, { code: 'meter-timeout', hint: `the meter (${this.meter.describe()}) stopped answering; check it and the network` })),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([this.meter.read(), deadline]);
    } catch (error) {
      if (error instanceof MeterError && error.code === 'meter-timeout') await this.meter.reset?.();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #run(): Promise<void> {
    let gapFrom: number | undefined;
    let gapReason = '';
    let failures = 0;
    let nextStartUs = nowUs();
    while (this.#running) {
      let sample: Sample;
      const attemptUs = nowUs();
      try {
        sample = await this.#readWithDeadline();
      } catch (raw) {
        const error = raw instanceof MeterError ? raw : new MeterError(`meter read failed: ${describeError(raw)}`, { cause: raw });
        this.#errors++;
        if (!this.#running) {
          gapFrom ??= this.#last?.t_end_us ?? attemptUs;
          gapReason ||= error.message;
          break;
        }
        failures++;
        if (gapFrom === undefined) {
          gapFrom = this.#last?.t_end_us ?? attemptUs;
          gapReason = error.message;
          if (this.listenerCount('error') > 0) this.emit('error', error);
        }
        const delay = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (failures - 1));
        this.emit('reconnect', { attempt: failures, delay_ms: delay, reason: error.message });
        await this.#pause(delay);
        continue;
      }
      if (gapFrom !== undefined) {
        this.#emitGap(gapFrom, sample.t_start_us, gapReason);
        gapFrom = undefined;
        failures = 0;
      }
      this.#record(sample);
      if (!this.#running) break;
      if (this.intervalMs > 0) {
        nextStartUs += this.intervalMs * 1000;
        const now = nowUs();
        // Fell behind (slow meter): restart the schedule instead of bursting to catch up.
        if (nextStartUs < now) nextStartUs = now;
        // Timers have whole-ms resolution and may fire up to 1 ms early: round up, never start early.
        const waitMs = Math.ceil((nextStartUs - now) / 1000);
        if (waitMs >= 1) await this.#pause(waitMs);
        else await yieldToLoop();
      } else {
        // Back-to-back reads still let timers and HTTP callbacks of the same loop run between them.
        await yieldToLoop();
      }
    }
    if (gapFrom !== undefined) this.#emitGap(gapFrom, nowUs(), gapReason);
  }

  #record(sample: Sample): void {
    this.#samples++;
    this.#last = sample;
    this.#recent.push(sample.t_end_us);
    if (this.#recent.length > RATE_WINDOW) this.#recent.shift();
    this.emit('sample', sample);
  }

  #emitGap(from_us: number, to_us: number, reason: string): void {
    this.#gaps++;
    this.emit('gap', { gap: true, from_us, to_us, reason });
  }
}
