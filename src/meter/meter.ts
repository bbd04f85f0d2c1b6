/**
 * The Meter interface: I/O behind a small interface, so tests and benches can swap it. No
 * implementation is imported here; ./open-meter.ts picks one by spec.
 */
import type { Sample } from '../protocol/results.js';

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
