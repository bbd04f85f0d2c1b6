/** Flag parsing and process signals shared by the commands (the CLI layer; library code takes typed options). */
import { UsageError } from '../errors.js';

export interface NumberFlagRule {
  min: number;
  max?: number;
  /** Whole numbers only (ports, counts, ms). */
  integer?: boolean;
}

/** Parses a numeric flag given as text; undefined when absent. The error names the flag and the rule. */
export function numberFlag(raw: unknown, flag: string, rule: NumberFlagRule): number | undefined {
  if (raw === undefined) return undefined;
  const { min, max = Number.MAX_SAFE_INTEGER, integer = false } = rule;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const kind = integer ? 'a whole number' : 'a number';
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be ${kind} ${range}, got "${String(raw)}"`);
  }
  return value;
}

/** Resolves on the first SIGINT or SIGTERM, then removes its handlers. */
export function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
