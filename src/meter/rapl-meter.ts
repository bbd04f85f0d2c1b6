/**
 * `rapl`: Linux powercap energy counters (/sys/class/powercap/intel-rapl:N/energy_uj, µJ, cumulative,
 * wrapping at max_energy_range_uj). Power is the counter delta over the time between two reads, summed
 * over the top-level packages (sub-zones like intel-rapl:0:0 are parts of a package and not added).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nowUs } from '../clock.js';
import { describeError, MeterError } from '../errors.js';
import type { Sample } from '../protocol/results.js';
import type { Meter } from './meter.js';
import type { RaplSpec } from './spec.js';

/** RAPL's update period is about 1 ms (Intel SDM: 0.976 ms): a read comes at least this long after the previous one. */
const MIN_PERIOD_US = 1000;

interface Zone { dir: string; name: string; maxUj: number; lastUj: number }

/** Energy consumed between two counter readings, µJ, with one wrap-around at `maxUj` handled. */
export function counterDelta(previousUj: number, currentUj: number, maxUj: number): number {
  return currentUj >= previousUj ? currentUj - previousUj : maxUj - previousUj + currentUj;
}

const NOT_AVAILABLE_HINT =
  'RAPL exists on Intel and recent AMD x86 hosts running Linux; most VMs and the Raspberry Pi have none. ' +
  'Since kernel 5.10 energy_uj is readable by root only (sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj). ' +
  'Use --meter modbus://HOST for a PDU, or sim';

async function readNumber(file: string): Promise<number> {
  const value = Number((await readFile(file, 'utf8')).trim());
  if (!Number.isFinite(value)) throw new MeterError(`${file} does not hold a number`, { code: 'meter-rapl' });
  return value;
}

export class RaplMeter implements Meter {
  readonly kind = 'rapl' as const;
  #lastUs: number;

  private constructor(readonly spec: string, private readonly zones: Zone[], startUs: number) {
    this.#lastUs = startUs;
  }

  /** Finds the package zones and reads their counters once (the first power figure needs a delta). */
  static async open(spec: string, parsed: RaplSpec): Promise<RaplMeter> {
    let entries: string[];
    try {
      entries = await readdir(parsed.root);
    } catch (error) {
      throw new MeterError(`RAPL is not available: ${parsed.root} is missing (${describeError(error)})`, { code: 'meter-unavailable', cause: error, hint: NOT_AVAILABLE_HINT });
    }
    const packages = entries.filter((e) => /^intel-rapl:\d+$/.test(e)).sort();
    if (packages.length === 0) {
      throw new MeterError(`RAPL is not available: no intel-rapl:N zone under ${parsed.root}`, { code: 'meter-unavailable', hint: NOT_AVAILABLE_HINT });
    }
    const zones: Zone[] = [];
    const startUs = nowUs();
    for (const entry of packages) {
      const dir = path.join(parsed.root, entry);
      try {
        const name = (await readFile(path.join(dir, 'name'), 'utf8').catch(() => entry)).trim();
        zones.push({ dir, name, maxUj: await readNumber(path.join(dir, 'max_energy_range_uj')), lastUj: await readNumber(path.join(dir, 'energy_uj')) });
      } catch (error) {
        if (error instanceof MeterError) throw error;
        throw new MeterError(`RAPL is not available: cannot read ${dir}/energy_uj (${describeError(error)})`, { code: 'meter-unavailable', cause: error, hint: NOT_AVAILABLE_HINT });
      }
    }
    return new RaplMeter(spec, zones, startUs);
  }

  describe(): string {
    return `RAPL energy counters (${this.zones.map((z) => z.name).join(' + ')})`;
  }

  /** Average power since the previous read: Σ ΔE_zone / Δt. */
  async read(): Promise<Sample> {
    // The counters advance about once a millisecond: read back to back (a sysfs read takes ~20 µs),
    // most deltas would be 0 W and the next one a spike, at tens of thousands of samples per second.
    const early = this.#lastUs + MIN_PERIOD_US - nowUs();
    if (early > 0) await sleep(Math.ceil(early / 1000));
    const t_start_us = this.#lastUs;
    let energyUj = 0;
    const readings = await Promise.all(this.zones.map(async (zone) => readNumber(path.join(zone.dir, 'energy_uj'))));
    const t_end_us = nowUs();
    readings.forEach((uj, i) => {
      const zone = this.zones[i]!;
      energyUj += counterDelta(zone.lastUj, uj, zone.maxUj);
      zone.lastUj = uj;
    });
    this.#lastUs = t_end_us;
    const dtUs = Math.max(1, t_end_us - t_start_us);
    // The read covers the whole interval since the last one: its span is [previous end, this end].
    return { t_start_us, t_end_us, power_w: energyUj / dtUs };
  }

  async close(): Promise<void> {}
}
