/** The Meter interface (I/O behind a small interface, so tests and benches can swap it) and the factory that picks one by spec. */
import { MeterError } from '../errors.js';
import type { Sample } from '../protocol/results.js';
import { parseMeterSpec } from './spec.js';

/** A power meter. `read()` returns one sample stamped (bench clock, µs) with the start and end of its read. */
export interface Meter {
  readonly spec: string;
  readonly kind: 'modbus' | 'sim' | 'rapl' | 'none';
  /** One line for run.json and the UI, e.g. "Gude EPC 1105 at 192.168.68.70:502 (unit 1)". */
  describe(): string;
  read(): Promise<Sample>;
  /** Drops the connection so the next read reconnects (after a timeout the link is suspect). */
  reset?(): Promise<void>;
  close(): Promise<void>;
}

/** `none`: there is no meter. Reading it is an error; callers check `kind` and skip energy. */
export class NoneMeter implements Meter {
  readonly kind = 'none' as const;
  constructor(readonly spec = 'none') {}
  describe(): string {
    return 'no meter';
  }
  async read(): Promise<Sample> {
    throw new MeterError('no meter configured (spec "none")', { code: 'meter-none', hint: 'pass --meter modbus://HOST, sim or rapl to measure energy' });
  }
  async close(): Promise<void> {}
}

/**
 * Opens the meter a spec names. For modbus the connection is made (and one block read) up front so an
 * unreachable or mismatched PDU is reported before a run starts.
 */
export async function openMeter(spec: string): Promise<Meter> {
  const parsed = parseMeterSpec(spec);
  switch (parsed.kind) {
    case 'none':
      return new NoneMeter(spec);
    case 'sim': {
      const { SimMeter } = await import('./sim-meter.js');
      return SimMeter.open(spec, parsed);
    }
    case 'rapl': {
      const { RaplMeter } = await import('./rapl-meter.js');
      return RaplMeter.open(spec, parsed);
    }
    case 'modbus': {
      const { ModbusMeter } = await import('./modbus-meter.js');
      return ModbusMeter.open(spec, parsed);
    }
  }
}
