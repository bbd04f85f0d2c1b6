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

/** What a signal stops: a console run's driver (stop() twice aborts the invocation in flight). */
export interface Stoppable {
  stop(): void;
}

export interface StopSignals {
  /** Hands over the run to stop; a signal that came before it stops it at once. */
  attach(run: Stoppable): void;
  /** True once SIGINT or SIGTERM arrived. */
  readonly interrupted: boolean;
  /** Removes the handlers. */
  dispose(): void;
}

/**
 * SIGINT and SIGTERM end a run honestly instead of killing it: the first stops after the invocation
 * in flight (the run is recorded as interrupted, with its summary), the next aborts that invocation.
 * Before a run is attached a signal only marks the command interrupted (it checks `interrupted`).
 */
export function stopOnSignals(say: (text: string) => void): StopSignals {
  let run: Stoppable | null = null;
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count++;
    if (!run) {
      say(`${signal}: stopping before the run starts…`);
      return;
    }
    say(
      count === 1
        ? `${signal}: stopping after the invocation in flight (results are kept; Ctrl-C again to abort it)…`
        : `${signal}: aborting the invocation in flight…`,
    );
    run.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    attach(next: Stoppable): void {
      run = next;
      if (count > 0) next.stop();
    },
    get interrupted(): boolean {
      return count > 0;
    },
    dispose(): void {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
