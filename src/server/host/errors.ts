/**
 * The failures a runtime reports. Runtimes say what went wrong, not how HTTP spells it: the app maps
 * each kind to a status code (src/server/app.ts, docs/api.md), so every runtime answers alike.
 */

/**
 * What kind of failure; the app's status for each: 404, 503, 503, 503, 504, 422, 500, and 499 for
 * `cancelled` (the client went away; nobody reads that answer, it is counted in /metrics).
 */
export type RuntimeFailure =
  | 'not-deployed'
  | 'unavailable'
  | 'busy'
  | 'shutting-down'
  | 'timeout'
  | 'invalid-artifact'
  | 'failed'
  | 'cancelled';

/** Error codes the API answered before runtimes had kinds; kept so clients see the same codes. */
const DEFAULT_CODE: Record<RuntimeFailure, string> = {
  'not-deployed': 'not-found',
  unavailable: 'runtime-unavailable',
  busy: 'busy',
  'shutting-down': 'shutting-down',
  timeout: 'timeout',
  'invalid-artifact': 'invalid-artifact',
  failed: 'internal',
  cancelled: 'cancelled',
};

export class RuntimeError extends Error {
  readonly kind: RuntimeFailure;
  /** The `error.code` clients see (e.g. "docker-unavailable"); defaults by kind. */
  readonly code: string;

  constructor(kind: RuntimeFailure, message: string, code?: string) {
    super(message);
    this.name = 'RuntimeError';
    this.kind = kind;
    this.code = code ?? DEFAULT_CODE[kind];
  }
}

/** An uploaded artifact that fails validation; `message` says what is wrong and how to fix it. */
export function invalidArtifact(message: string): RuntimeError {
  return new RuntimeError('invalid-artifact', message);
}

/** A function that has no artifact for this runtime; `message` names the PUT that deploys one. */
export function notDeployed(message: string): RuntimeError {
  return new RuntimeError('not-deployed', message);
}

/** The invocation's client went away (its AbortSignal fired): the call was dropped from the queue or stopped. */
export function cancelled(what: string): RuntimeError {
  return new RuntimeError('cancelled', `the client closed the connection; the ${what} invocation was cancelled`);
}

const MIB = 1024 * 1024;

/**
 * How every runtime words a run that failed at `--max-memory-mb` (docs/runtimes.md, "Limits"), then
 * how it ended (`how`: "exited with code 4", "terminated by SIGSEGV", …).
 */
export function memoryCapReached(capMb: number, how: string): string {
  return `memory cap of ${capMb} MiB reached (--max-memory-mb): ${how}`;
}

/**
 * Whether a failed run's peak memory says the cap made it fail: an allocation past the cap fails
 * (wasm: memory.grow returns -1; native: mmap/brk return ENOMEM), so a hog ends with its memory just
 * below the cap — within one allocation of it. 7/8 of the cap leaves room for allocations up to an
 * eighth of it, and for what the cap counts that the peak does not (native: address space vs RSS).
 */
export function atMemoryCap(peakBytes: number, capMb: number): boolean {
  return peakBytes >= (capMb * MIB * 7) / 8;
}
