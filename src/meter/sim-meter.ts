/** `sim`: an in-process meter whose power follows this machine's CPU load (no network, no device). */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowUs } from '../clock.js';
import type { Sample } from '../protocol/results.js';
import { CpuLoad, modelPower, type PowerModel } from './cpu-load.js';
import type { Meter } from './meter.js';
import type { SimSpec } from './spec.js';

export class SimMeter implements Meter {
  readonly kind = 'sim' as const;
  readonly #load = new CpuLoad();

  private constructor(readonly spec: string, private readonly model: PowerModel) {}

  /** Opens a simulated meter and primes the load model. */
  static async open(spec: string, parsed: SimSpec): Promise<SimMeter> {
    const meter = new SimMeter(spec, { idleW: parsed.idleW, coreW: parsed.coreW });
    // The load is a delta of two /proc/stat snapshots taken ≥ 100 ms apart: take both now.
    await meter.#load.busyCores();
    await sleep(110);
    await meter.#load.busyCores();
    return meter;
  }

  describe(): string {
    return `simulated meter (${this.model.idleW} W idle + ${this.model.coreW} W per busy core of ${this.#load.cores})`;
  }

  async read(): Promise<Sample> {
    const t_start_us = nowUs();
    // A real meter answers in about a millisecond; without this a sampler would spin at ~100k reads/s.
    await sleep(1);
    const busy = await this.#load.busyCores();
    // Small measurement noise so statistics over samples behave like a real meter's.
    const power_w = Math.max(0, modelPower(this.model, busy) + (Math.random() - 0.5) * 0.02);
    return { t_start_us, t_end_us: nowUs(), power_w };
  }

  async close(): Promise<void> {}
}
