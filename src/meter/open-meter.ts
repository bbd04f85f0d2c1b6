/** The meter factory: opens the implementation a spec names (each loaded only when asked for). */
import { MeterError } from '../errors.js';
import type { Sample } from '../protocol/results.js';
import type { Meter } from './meter.js';
import { parseMeterSpec } from './spec.js';

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
